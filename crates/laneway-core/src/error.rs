//! What can go wrong in the domain, independent of transport and storage.

/// A domain failure. The server maps each variant to a status and a machine code.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DomainError {
    /// The resource does not exist in the caller's workspace.
    #[error("{resource} '{id}' not found")]
    NotFound { resource: &'static str, id: String },
    /// The request clashes with existing state (duplicate slug, resource in use).
    #[error("{message}")]
    Conflict { message: String },
    /// The input is invalid; `field` names the culprit.
    #[error("{message}")]
    Validation {
        message: String,
        field: Option<String>,
    },
    /// The caller may not do this.
    #[error("{message}")]
    Forbidden { message: String },
}

impl DomainError {
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            id: id.into(),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            field: Some(field.into()),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }
}
