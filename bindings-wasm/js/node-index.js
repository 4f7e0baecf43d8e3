'use strict';
// hoopauth on WASM in Node: the shared JS layer (lib/, copied from bindings-node/lib) over the
// wasm-bindgen module (nodejs target, instantiated synchronously on require).
module.exports = require('./lib/api.js')(require('./hoopauth_wasm.js'));
