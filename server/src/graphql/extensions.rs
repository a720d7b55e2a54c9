//! Gives parse and validation errors a stable `extensions.code`, like every other error.

use std::sync::Arc;

use super::{
    MAX_COMPLEXITY,
    limits::{MAX_DEPTH, TOO_COMPLEX},
};
use async_graphql::{
    ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::ExecutableDocument,
};

/// Tags errors raised before execution.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

/// Sets `code` on an error that has none yet.
pub fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|error| with_code(error, "GRAPHQL_PARSE_FAILED"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut error| {
                    // async-graphql's own limits: a stable code and a sentence that helps.
                    match error.message.as_str() {
                        "Query is too complex." => {
                            error.message = format!(
                                "the query is too complex (more than {MAX_COMPLEXITY} points; each field counts 1, a timeline 1 per bucket): ask for fewer fields, aliases or buckets"
                            );
                            with_code(error, TOO_COMPLEX)
                        }
                        "Query is nested too deep." => {
                            error.message = format!(
                                "the query is nested too deep: at most {MAX_DEPTH} levels of fields"
                            );
                            with_code(error, TOO_COMPLEX)
                        }
                        _ => with_code(error, "GRAPHQL_VALIDATION_FAILED"),
                    }
                })
                .collect()
        })
    }
}
