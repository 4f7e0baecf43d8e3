//! Python binding (pyo3).
