// The ui-m2m-devices bundle: the dashboard loads resources/ui-m2m-devices.umd.js and takes UIM2mDevices from it.
export { default as UIM2mDevices } from './UIM2mDevices.vue';
