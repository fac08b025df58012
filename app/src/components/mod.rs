//! Console pieces written once and used by every page that needs them.

pub mod copy_button;
pub mod policy_editor;
