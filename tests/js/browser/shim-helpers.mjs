// tests/js/helpers.mjs for the browser: `h` is the web package after `await init()`, the
// vectors come from the static server (which reads HOOPAUTH_VECTORS).
import init from '/pkg/index.mjs';

export const h = await init();
const vectors = await (await fetch('/vectors')).json();
export function vectorFiles() { return vectors; }
export const ROOT = '/';
export const IMPL_DIR = '/pkg';
export const SCOPES = ['contacts.readonly', 'contacts.write', 'locations.readonly'];
