//! `sangathan duplicates`, `sangathan merge A INTO B` and `sangathan unmerge MERGE_ID`.

use anyhow::{anyhow, bail};
use sangathan_store::{MergeOutcome, StoreError};

/// Who a merge from the command line is recorded as: the operating-system user.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn print(o: &MergeOutcome, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(o)?);
    } else if o.undone {
        println!(
            "undid merge #{}: person #{} is a person of their own again, apart from #{}",
            o.merge_id, o.from, o.into
        );
        println!(
            "  memberships moved back to #{}: {}",
            o.from,
            list(&o.moved_memberships)
        );
        println!(
            "  memberships restored to their previous status: {}",
            list(&o.cancelled_memberships)
        );
        println!(
            "  identifiers taken back from #{}: {}",
            o.into,
            list(&o.moved_identifiers)
        );
    } else {
        println!(
            "merge #{}: person #{} merged into #{}",
            o.merge_id, o.from, o.into
        );
        println!(
            "  memberships moved to #{}: {}",
            o.into,
            list(&o.moved_memberships)
        );
        println!(
            "  memberships cancelled (#{} already holds the wing): {}",
            o.into,
            list(&o.cancelled_memberships)
        );
        println!(
            "  identifiers moved to #{}: {}",
            o.into,
            list(&o.moved_identifiers)
        );
        println!("undo with: sangathan unmerge {}", o.merge_id);
    }
    Ok(())
}

async fn audit(
    s: &sangathan_store::DynStore,
    action: &str,
    record: String,
    person: i64,
) -> anyhow::Result<()> {
    crate::access::Operator::operator(s)
        .audit(action, Some(record), Some(person))
        .await
}

/// `merge FROM INTO INTO_ID`: the middle word must be `into` (any case).
pub async fn merge(db: &str, from: i64, word: &str, into: i64, json: bool) -> anyhow::Result<()> {
    if !word.eq_ignore_ascii_case("into") {
        bail!(
            "write the word INTO between the two person ids: `sangathan merge PERSON_ID INTO PERSON_ID` \
             merges the first person into the second (got {word:?} between them)"
        );
    }
    let s = crate::open_initialised(db).await?;
    let o = s.merge(from, into, &actor()).await?;
    audit(
        &s,
        "merge",
        format!("merge:{} person:{from} into person:{into}", o.merge_id),
        into,
    )
    .await?;
    print(&o, json)
}

pub async fn unmerge(db: &str, merge_id: i64, json: bool) -> anyhow::Result<()> {
    let s = crate::open_initialised(db).await?;
    let o = match s.unmerge(merge_id, &actor()).await {
        Err(StoreError::NotFound) => return Err(anyhow!("there is no merge #{merge_id}")),
        other => other?,
    };
    audit(&s, "unmerge", format!("merge:{merge_id}"), o.into).await?;
    print(&o, json)
}

pub async fn duplicates(
    db: &str,
    as_user: Option<&str>,
    unit: &str,
    json: bool,
    limit: u32,
) -> anyhow::Result<()> {
    use sangathan_core::access::Action;
    let s = crate::open_initialised(db).await?;
    let op = crate::access::Operator::resolve(&s, as_user).await?;
    op.must_be_able(Action::Merge)?;
    let wings = op.wings(Action::Merge, unit).await?;
    op.audit("review-duplicates", Some(unit.to_ascii_uppercase()), None)
        .await?;
    let pairs = s
        .duplicate_candidates(unit, &wings, limit)
        .await?
        .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
    if json {
        println!("{}", serde_json::json!({ "candidates": pairs }));
    } else if pairs.is_empty() {
        println!("no duplicate candidates in {unit}");
    } else {
        for d in &pairs {
            println!(
                "{:>10} {:>10}  {} | {}  ({})",
                d.a, d.b, d.a_name, d.b_name, d.reason
            );
        }
        println!(
            "merge one into the other with: sangathan merge PERSON_ID INTO PERSON_ID (undo: sangathan unmerge MERGE_ID)"
        );
    }
    Ok(())
}
