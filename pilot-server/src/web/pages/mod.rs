//! One module per page (or family of form pages).

pub(crate) mod alerts;
pub(crate) mod forms;
pub(crate) mod node;
pub(crate) mod overview;
pub(crate) mod project;

pub(crate) use forms as settings;
