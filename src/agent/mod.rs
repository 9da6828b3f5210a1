//! (module under construction: see docs/ and the open issues)
