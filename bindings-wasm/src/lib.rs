//! WASM binding (wasm-bindgen).
