//! Channels: what each one is (its definition, from the channels file, the API or
//! the classic settings).

pub mod def;
