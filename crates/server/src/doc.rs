//! The fixed parts of the OpenAPI document; the paths come from the routes themselves.

use crate::error::{ErrorBody, ErrorDetail};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The name of the security scheme every operation but `/healthz` requires.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sangathan API",
        description = "Membership management for a mass organisation: geography from state to booth, \
                       enrolment, members, wings, campaigns and their progress. Every error answers \
                       `{\"error\": {code, message, message_hi, fields?, fields_hi?}}`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "units", description = "The geography and progress against targets"),
        (name = "members", description = "Enrolment and members"),
        (name = "campaigns", description = "Wings and membership campaigns"),
        (name = "merges", description = "Duplicate review, and merges that lose nothing and can be undone"),
        (name = "volunteers", description = "Programmes, duties and rosters, check-in, activation and follow-up lists"),
        (name = "bulletins", description = "Bulletins to a scope, views and moderated comments"),
        (name = "verification", description = "Verifying members: the queue, states with exact counters, member codes"),
        (name = "meta", description = "Health and this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque token issued by `sangathan token`")
                    .description(Some("Authorization: Bearer <token>"))
                    .build(),
            ),
        );
    }
}

/// The document before the routes add their paths.
pub fn base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
