//! Validation errors that name the field and say why, in English and Hindi.

use serde::Serialize;
use std::collections::BTreeMap;

/// One rejected field: which field, a stable machine code, and the reason in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub en: String,
    pub hi: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        en: impl Into<String>,
        hi: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code,
            en: en.into(),
            hi: hi.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.en, self.hi)
    }
}

/// A rejected input: one or more field errors (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(e: FieldError) -> Self {
        Invalid(vec![e])
    }
    /// The first error's code, used as the error's overall code.
    pub fn code(&self) -> &'static str {
        self.0.first().map(|e| e.code).unwrap_or("invalid")
    }
    pub fn message_en(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.en))
            .collect::<Vec<_>>()
            .join("; ")
    }
    pub fn message_hi(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.hi))
            .collect::<Vec<_>>()
            .join("; ")
    }
    /// field → English reason, as the API's `fields` object.
    pub fn fields(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|e| (e.field.clone(), e.en.clone()))
            .collect()
    }
    pub fn fields_hi(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|e| (e.field.clone(), e.hi.clone()))
            .collect()
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for Invalid {}

impl From<FieldError> for Invalid {
    fn from(e: FieldError) -> Self {
        Invalid::one(e)
    }
}
