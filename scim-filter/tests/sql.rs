//! Tests of the SQL compiler against SQLite.
