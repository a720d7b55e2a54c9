//! One tracing span per GraphQL operation: request id, admin, operation name and type, and
//! one line with the outcome when it ends. Variables are never recorded (they can hold
//! passwords and keys).

use std::sync::Arc;

use async_graphql::{
    Request, Response, ServerResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use tracing::{Span, field};

use crate::auth::Authentication;

/// The span of one operation, its name and type recorded once the document is parsed.
pub fn span(request_id: &str, auth: &Authentication) -> Span {
    let admin = match auth {
        Authentication::Admin(session) => session.username.as_str(),
        Authentication::Anonymous(_) => "-",
    };
    tracing::info_span!(
        "graphql",
        request_id = %request_id,
        admin = %admin,
        operation = field::Empty,
        kind = field::Empty,
    )
}

/// Logs the end of the operation in `span`: `ok`, or the code of its first error.
pub fn finished(span: &Span, response: &Response, elapsed: std::time::Duration) {
    let outcome = match response.errors.first() {
        None => "ok".to_string(),
        Some(error) => error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(|code| code.to_string().trim_matches('"').to_string())
            .unwrap_or_else(|| "error".into()),
    };
    tracing::info!(
        parent: span,
        outcome = %outcome,
        errors = response.errors.len(),
        elapsed_ms = elapsed.as_millis() as u64,
        "graphql operation"
    );
}

/// Records the operation's name and type on the current span, once the request is prepared
/// (and its document parsed), so even a refused operation is named.
pub struct OperationSpan;

impl ExtensionFactory for OperationSpan {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationSpan)
    }
}

#[async_trait::async_trait]
impl Extension for OperationSpan {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let mut request = next.run(ctx, request).await?;
        let asked = request.operation_name.clone();
        if let Ok(document) = request.parsed_query()
            && let Some((name, kind)) = chosen(document, asked.as_deref())
        {
            let span = Span::current();
            span.record("operation", field::display(name.unwrap_or("-")));
            span.record("kind", field::display(kind));
        }
        Ok(request)
    }
}

/// The operation asked for by name, else the document's only one.
fn chosen<'a>(
    document: &'a ExecutableDocument,
    asked: Option<&str>,
) -> Option<(Option<&'a str>, OperationType)> {
    match (&document.operations, asked) {
        (DocumentOperations::Single(operation), _) => Some((None, operation.node.ty)),
        (DocumentOperations::Multiple(operations), Some(asked)) => operations
            .iter()
            .find(|(name, _)| name.as_str() == asked)
            .map(|(name, operation)| (Some(name.as_str()), operation.node.ty)),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .iter()
            .next()
            .map(|(name, operation)| (Some(name.as_str()), operation.node.ty)),
        (DocumentOperations::Multiple(_), None) => None,
    }
}
