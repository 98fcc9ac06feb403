// The widgets' CSS, added to the page by the first widget that mounts (see injectStyle).
export const CSS = `
.m2m-alarms, .m2m-devices { width: 100%; font-size: 0.85rem; }
.m2m-toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 6px; }
.m2m-toolbar input, .m2m-toolbar select { border: 1px solid #bbb; border-radius: 4px; padding: 2px 6px; background: transparent; color: inherit; }
.m2m-count { border-left: 4px solid #888; padding: 0 6px; }
.m2m-table { width: 100%; border-collapse: collapse; }
.m2m-table th { text-align: left; font-weight: 600; border-bottom: 1px solid #ccc; padding: 3px 4px; }
.m2m-table td { border-bottom: 1px solid #eee; padding: 3px 4px; vertical-align: top; word-break: break-word; }
.m2m-severity { color: #fff; border-radius: 3px; padding: 0 6px; font-weight: 600; }
.m2m-text { opacity: 0.7; font-size: 0.8em; }
.m2m-unacknowledged td { font-weight: 600; }
.m2m-acknowledged td, .m2m-shelved td { opacity: 0.75; }
/* a new unacknowledged row is marked, not animated: in a storm hundreds of rows are new, and animating them all would cost the browser its frames */
.m2m-new td { background: rgba(208, 2, 27, 0.12); }
.m2m-new td:first-child { box-shadow: inset 4px 0 0 #d0021b; }
.m2m-cue .m2m-toolbar { animation: m2m-flash 1s ease-in-out 2; }
.m2m-new-badge { background: #d0021b; color: #fff; border-radius: 10px; padding: 0 8px; font-weight: 600; }
@keyframes m2m-flash { 50% { background: rgba(208, 2, 27, 0.25); } }
.m2m-actions button, .m2m-pager button, .m2m-ack-all { border: 1px solid #999; border-radius: 4px; padding: 0 6px; margin: 1px; cursor: pointer; }
.m2m-actions button:hover, .m2m-pager button:hover { background: rgba(0, 0, 0, 0.08); }
button:disabled { opacity: 0.4; cursor: default; }
.m2m-pager { display: flex; gap: 6px; align-items: center; margin-top: 4px; }
.m2m-dropped { color: #d0021b; }
.m2m-device-row { cursor: pointer; }
.m2m-device-row:hover { background: rgba(0, 0, 0, 0.05); }
.m2m-selected { background: rgba(42, 122, 176, 0.18); }
.m2m-dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; }
.m2m-online { background: #3a9d23; }
.m2m-offline { background: #aaa; }
.m2m-empty { opacity: 0.6; text-align: center; }
`;
