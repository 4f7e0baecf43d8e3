'use strict';
// Native module only (built before the shared JS layer existed): the raw wasm-bindgen surface.
module.exports = require('./hoopauth_wasm.js');
