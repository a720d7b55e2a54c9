//! Refuses costly documents before validation, in time linear in the document's size.
//!
//! async-graphql's own checks (recursion depth and directives right after parsing, then
//! validation, depth and complexity) expand every fragment spread, so a one-kilobyte document
//! whose fragments each spread the previous one twice costs 2^n work there. This check runs
//! first, as the request is prepared: it parses the document (async-graphql keeps it, so it is
//! parsed once) and sizes each fragment once (memoised), so the expanded size of any document
//! is known without expanding it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{
    Request, ServerError, ServerResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::extensions::with_code;

/// Longest query text accepted (large inputs belong in variables).
pub const MAX_QUERY_BYTES: usize = 256 * 1024;
/// Most selections a document may have once every fragment is expanded.
pub const MAX_SELECTIONS: usize = 5_000;
/// Deepest field nesting, counted through fragments (GraphiQL's introspection query needs 13).
pub const MAX_DEPTH: usize = 16;
/// Deepest nesting of selection sets and fragment spreads together; bounds the walk's stack.
const MAX_NESTING: usize = 64;

/// The error code of every refusal here.
pub const TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";

/// The extension that applies these limits to every document.
pub struct DocumentLimits;

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimits)
    }
}

#[async_trait::async_trait]
impl Extension for DocumentLimits {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if request.query.len() > MAX_QUERY_BYTES {
            return Err(refusal(format!(
                "the query text is {} bytes; at most {MAX_QUERY_BYTES} are accepted (send large inputs as variables)",
                request.query.len()
            )));
        }
        let document = request
            .parsed_query()
            .map_err(|error| with_code(error, "GRAPHQL_PARSE_FAILED"))?;
        check(document).map_err(|why| refusal(why.sentence()))?;
        next.run(ctx, request).await
    }
}

fn refusal(message: String) -> ServerError {
    with_code(ServerError::new(message, None), TOO_COMPLEX)
}

/// Why a document was refused.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// Too many selections after expansion.
    TooMany,
    /// Fields nested too deep.
    TooDeep,
    /// Selection sets and spreads nested too deep.
    TooNested,
    /// A fragment that (indirectly) spreads itself.
    Cycle(String),
}

impl Refused {
    fn sentence(&self) -> String {
        match self {
            Self::TooMany => format!(
                "the query selects more than {MAX_SELECTIONS} fields once its fragments are expanded; ask for less in one request"
            ),
            Self::TooDeep => {
                format!("the query is nested too deep: at most {MAX_DEPTH} levels of fields")
            }
            Self::TooNested => format!(
                "the query is nested too deep: at most {MAX_NESTING} levels of selections and fragment spreads"
            ),
            Self::Cycle(name) => format!("fragment `{name}` spreads itself"),
        }
    }
}

/// What one selection set amounts to once expanded.
#[derive(Clone, Copy, Default)]
struct Cost {
    selections: usize,
    depth: usize,
}

/// Checks `document` against the limits without expanding any fragment twice.
pub fn check(document: &ExecutableDocument) -> Result<(), Refused> {
    let mut walk = Walk {
        document,
        sized: HashMap::new(),
        open: HashSet::new(),
    };
    let mut total = 0usize;
    for (_, operation) in document.operations.iter() {
        let cost = walk.selections(&operation.node.selection_set.node, 0)?;
        total = total.saturating_add(cost.selections);
        if total > MAX_SELECTIONS {
            return Err(Refused::TooMany);
        }
        if cost.depth > MAX_DEPTH {
            return Err(Refused::TooDeep);
        }
    }
    Ok(())
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Fragments already sized.
    sized: HashMap<&'a str, Cost>,
    /// Fragments being sized (a spread of one of these is a cycle).
    open: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn selections(&mut self, set: &'a SelectionSet, nesting: usize) -> Result<Cost, Refused> {
        if nesting > MAX_NESTING {
            return Err(Refused::TooNested);
        }
        let mut cost = Cost::default();
        for selection in &set.items {
            let item = match &selection.node {
                Selection::Field(field) => {
                    let inner = self.selections(&field.node.selection_set.node, nesting + 1)?;
                    Cost {
                        selections: inner.selections,
                        depth: inner.depth + 1,
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selections(&fragment.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), nesting + 1)?
                }
            };
            cost.selections = cost
                .selections
                .saturating_add(item.selections)
                .saturating_add(1);
            cost.depth = cost.depth.max(item.depth);
            if cost.selections > MAX_SELECTIONS {
                return Err(Refused::TooMany);
            }
            if cost.depth > MAX_DEPTH {
                return Err(Refused::TooDeep);
            }
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str, nesting: usize) -> Result<Cost, Refused> {
        if let Some(cost) = self.sized.get(name) {
            return Ok(*cost);
        }
        // An unknown fragment is left for validation to report.
        let Some((key, fragment)) = self.document.fragments.get_key_value(name) else {
            return Ok(Cost::default());
        };
        let name = key.as_str();
        if !self.open.insert(name) {
            return Err(Refused::Cycle(name.to_string()));
        }
        let cost = self.selections(&fragment.node.selection_set.node, nesting)?;
        self.open.remove(name);
        self.sized.insert(name, cost);
        Ok(cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str) -> Result<(), Refused> {
        check(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    /// Fragments F1…Fn, each spreading the previous one twice: 2^n selections expanded.
    fn fragment_bomb(levels: usize) -> String {
        let mut query = String::from("query { ...F0 } fragment F0 on QueryRoot { __typename }");
        for level in 1..=levels {
            let previous = level - 1;
            query.push_str(&format!(
                " fragment F{level} on QueryRoot {{ ...F{previous} ...F{previous} }}"
            ));
        }
        query.replace("query { ...F0 }", &format!("query {{ ...F{levels} }}"))
    }

    #[test]
    fn a_fragment_bomb_is_refused_without_expanding_it() {
        assert_eq!(checked(&fragment_bomb(60)), Err(Refused::TooMany));
    }

    #[test]
    fn a_small_fragment_tree_passes() {
        assert_eq!(checked(&fragment_bomb(8)), Ok(()));
    }

    #[test]
    fn a_fragment_cycle_is_refused() {
        assert_eq!(
            checked("query { ...A } fragment A on Q { ...B } fragment B on Q { ...A }"),
            Err(Refused::Cycle("A".into()))
        );
    }

    #[test]
    fn a_long_chain_of_fragments_is_refused_before_the_stack_runs_out() {
        let mut query = String::from("query { ...F0 }");
        for level in 0..1000 {
            query.push_str(&format!(" fragment F{level} on Q {{ ...F{} }}", level + 1));
        }
        query.push_str(" fragment F1000 on Q { id }");
        assert_eq!(checked(&query), Err(Refused::TooNested));
    }

    #[test]
    fn fields_nested_through_fragments_count_towards_the_depth() {
        let mut query = String::from("query { a { ...F0 } }");
        for level in 0..20 {
            query.push_str(&format!(
                " fragment F{level} on Q {{ b {{ ...F{} }} }}",
                level + 1
            ));
        }
        query.push_str(" fragment F20 on Q { id }");
        assert_eq!(checked(&query), Err(Refused::TooDeep));
    }
}
