// The ui-m2m-alarms bundle: the dashboard loads resources/ui-m2m-alarms.umd.js and takes UIM2mAlarms from it.
export { default as UIM2mAlarms } from './UIM2mAlarms.vue';
