//! Gives parse and validation errors a stable `extensions.code`, like every other error.

use std::sync::Arc;

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
                .map(|error| with_code(error, "GRAPHQL_VALIDATION_FAILED"))
                .collect()
        })
    }
}
