//! Pages of the request log, newest first by start time (then by id among attempts that started
//! together). Every filter of the console has an index on (column, create_time), so a page walks
//! its index in order and stops after the page: no sort of every matching row, however many
//! millions the log holds. (SQLite's indexes end with the row id, so ties come in order; PostgreSQL
//! sorts the few ties of a page.)

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Alias, Expr, SelectStatement},
};

use crate::{
    entity::api_request_log::{Column, Entity as Logs, Model},
    error::ServiceError,
};

/// A position in the log: a row's start time and id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogCursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl From<&Model> for LogCursor {
    fn from(row: &Model) -> Self {
        Self {
            at: row.create_time,
            id: row.id,
        }
    }
}

impl LogCursor {
    /// Rows after this one in newest-first order. The plain `<=` on the time is what an index
    /// range can use; the rest settles ties.
    fn older(self) -> Condition {
        Condition::all().add(Column::CreateTime.lte(self.at)).add(
            Condition::any()
                .add(Column::CreateTime.lt(self.at))
                .add(Column::Id.lt(self.id)),
        )
    }

    /// Rows before this one in newest-first order.
    fn newer(self) -> Condition {
        Condition::all().add(Column::CreateTime.gte(self.at)).add(
            Condition::any()
                .add(Column::CreateTime.gt(self.at))
                .add(Column::Id.gt(self.id)),
        )
    }
}

/// Which end of the matching rows a page is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The newest rows, newest first.
    Newest,
    /// The oldest rows, oldest first (the caller turns them around).
    Oldest,
}

/// Up to `limit` rows matching `condition` strictly between the cursors, read from `from`.
pub async fn read(
    db: &impl ConnectionTrait,
    condition: Condition,
    after: Option<LogCursor>,
    before: Option<LogCursor>,
    from: End,
    limit: u64,
) -> Result<Vec<Model>, ServiceError> {
    let mut select = Logs::find().filter(condition);
    if let Some(after) = after {
        select = select.filter(after.older());
    }
    if let Some(before) = before {
        select = select.filter(before.newer());
    }
    select = match from {
        End::Newest => select
            .order_by_desc(Column::CreateTime)
            .order_by_desc(Column::Id),
        End::Oldest => select
            .order_by_asc(Column::CreateTime)
            .order_by_asc(Column::Id),
    };
    Ok(select.limit(limit).all(db).await?)
}

/// Rows matching `condition`, counted no further than `limit`: the count (at most `limit`) and
/// whether it is all of them. Reading stops after `limit + 1` rows, so it stays fast on a log of
/// millions of rows, where an exact count reads every matching row (or its index entry).
pub async fn count_up_to(
    db: &impl ConnectionTrait,
    condition: Condition,
    limit: u64,
) -> Result<(u64, bool), ServiceError> {
    let matching = Logs::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(condition)
        .limit(limit.saturating_add(1))
        .into_query();
    let count = SelectStatement::new()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(matching, Alias::new("matching"))
        .to_owned();
    let found = match db.query_one(&count).await? {
        Some(row) => u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
        None => 0,
    };
    Ok((found.min(limit), found <= limit))
}
