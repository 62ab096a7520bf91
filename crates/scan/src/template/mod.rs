//! Mini-program template parser (WXML and its dialects).
