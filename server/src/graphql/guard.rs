//! The admin guard: every root field except `login` (and `__typename`) needs an admin session.
//! Introspection is admin-only too: GraphiQL and the console send the JWT, and an anonymous
//! visitor has no use for the schema.
//!
//! It runs once per document, right after parsing and before validation or any resolver, so a
//! field added later is protected without anyone remembering to protect it.

use std::sync::Arc;

use async_graphql::{
    Positioned, ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::extensions::with_code;
use crate::auth::Authentication;

/// Root fields anyone may ask for.
const PUBLIC_FIELDS: [&str; 2] = ["login", "__typename"];

/// Refuses documents that reach protected fields without an admin session.
pub struct RequireAdmin;

impl ExtensionFactory for RequireAdmin {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequireAdmin)
    }
}

#[async_trait::async_trait]
impl Extension for RequireAdmin {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let why = match ctx.data_opt::<Authentication>() {
            Some(Authentication::Admin(_)) => return Ok(document),
            Some(Authentication::Anonymous(why)) => *why,
            None => "missing bearer token",
        };
        if let Some(field) = first_protected_field(&document) {
            return Err(with_code(
                ServerError::new(format!("{why} (needed for `{field}`)"), None),
                "UNAUTHENTICATED",
            ));
        }
        Ok(document)
    }
}

/// The first root field of any operation that is not public, looking through fragments.
fn first_protected_field(document: &ExecutableDocument) -> Option<String> {
    document
        .operations
        .iter()
        .find_map(|(_, operation)| protected_in(document, &operation.node.selection_set, 0))
}

fn protected_in(
    document: &ExecutableDocument,
    selections: &Positioned<SelectionSet>,
    depth: usize,
) -> Option<String> {
    // Fragment cycles are a validation error; stop rather than loop before validation runs.
    if depth > 16 {
        return Some("…".into());
    }
    selections
        .node
        .items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                (!PUBLIC_FIELDS.contains(&name)).then(|| name.to_string())
            }
            Selection::InlineFragment(fragment) => {
                protected_in(document, &fragment.node.selection_set, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .and_then(|fragment| {
                    protected_in(document, &fragment.node.selection_set, depth + 1)
                }),
        })
}
