'use strict';
// @hoopauth/node: the public API (lib/api.js) over the napi addon (native.js, generated).
module.exports = require('./lib/api.js')(require('./native.js'));
