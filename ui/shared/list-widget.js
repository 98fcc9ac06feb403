/* global setInterval, clearInterval */
import { markRaw } from 'vue';
import { applyToBoard, createBoard, injectStyle } from './board.js';
import { CSS } from './style.js';

// What the alarm list and the device table share: the board of rows fed by snapshots and deltas, the paging
// over the widget's own `filtered` rows, the clock that keeps "since" texts current, and the requests to the node.
// `noun` names the rows in the pager ("0 alarms"); `pageSize` is used when the node sets none.
export function listWidget({ noun, pageSize }) {
  return {
    inject: ['$socket', '$dataTracker'],
    props: {
      id: { type: String, required: true },
      props: { type: Object, default: () => ({}) },
      state: { type: Object, default: () => ({}) },
    },
    data() {
      return { board: markRaw(createBoard()), version: 0, now: Date.now(), query: '', pageIndex: 0, dropped: 0 };
    },
    computed: {
      pageSize() {
        return Number(this.props.pageSize) || pageSize;
      },
      page() {
        const start = this.pageIndex * this.pageSize;
        return this.filtered.slice(start, start + this.pageSize);
      },
      rangeText() {
        const total = this.filtered.length;
        if (total === 0) return `0 ${noun}`;
        const start = this.pageIndex * this.pageSize;
        return `${start + 1}–${Math.min(total, start + this.pageSize)} of ${total}`;
      },
    },
    watch: {
      filtered(rows) {
        if (this.pageIndex * this.pageSize >= rows.length) this.pageIndex = Math.max(0, Math.ceil(rows.length / this.pageSize) - 1);
      },
    },
    created() {
      injectStyle('m2m-widgets-style', CSS);
      this.$dataTracker(this.id, this.onInput, this.onLoad);
    },
    mounted() {
      this.clock = setInterval(() => {
        this.now = Date.now();
      }, 5000);
    },
    unmounted() {
      clearInterval(this.clock);
    },
    methods: {
      request(m2mWidget) {
        this.$socket.emit('widget-action', this.id, { m2mWidget });
      },
      onLoad() {
        // on first load and after a reconnect: the whole list, then deltas
        this.request({ op: 'snapshot' });
      },
      /** Applies a snapshot or delta to the board; false for any other message of the widget. */
      applyUpdate(update) {
        if (!applyToBoard(this.board, update)) return false;
        this.dropped = this.board.dropped;
        this.now = Date.now();
        this.version++;
        return true;
      },
    },
  };
}
