/** A property the user wrote as JSONata, which the node evaluates once per message against the whole msg. */
export interface JsonataField {
  /** The property it was saved in, for INVALID_CONFIG and INVALID_PAYLOAD (e.g. mapping[0].path, rules[1].raise.value). */
  field: string;
  expression: string;
}
