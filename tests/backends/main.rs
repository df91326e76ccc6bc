//! The backend behaviour suite (`common/suite.rs`) against every server-side backend, on the
//! real servers of this machine, plus what is particular to each.

use session_test_support as common;
use session_test_support::{backend_suite, backend_suite_in_one_test, sql_suite};

mod memory;
mod migrating;
mod mysql;
mod postgres;
mod redis;
mod redis_cache;
mod redis_cluster;
mod redis_sentinel;
mod redis_tls;
mod sealed;
mod sqlite;
