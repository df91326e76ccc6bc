//! The security promises, one test each, and the attacks on them: tampering with cookies,
//! property tests over arbitrary inputs, and constant-time tag comparison.

use session_test_support as common;

mod constant_time;
mod promises;
mod properties;
mod tampering;
