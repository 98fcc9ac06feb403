export { ExprError, parseExpression, MAX_EXPRESSION_LENGTH, WINDOW_FNS, type WindowFn, type Node } from './parser';
export {
  compileExpression,
  collectingScope,
  MAX_WINDOW_MS,
  MAX_WINDOW_SAMPLES,
  type CompiledExpression,
  type Evaluate,
  type ExprInputs,
  type ExprScope,
  type ExprType,
  type WindowSpec,
} from './compiler';
