//! The filter language shared by `/` in the console, `GET /api/v1/tasks?filter=` and
//! `{"type":"query"}` references (SPEC §5).
//!
//! Space-separated terms, all of which must hold: `status:failed`, `outcome:canceled`,
//! `name:sum`, `thread:imports`, `ref:42`, `parent:7`, `key:Task001`,
//! `conf.<path>:<value>`, `age>10m` / `age<2h`, `!term` negates, and bare words match id,
//! name, key and desc as case-insensitive substrings. Values may be double-quoted.

use crate::error::{Error, ErrorCode};
use crate::model::{Outcome, Status, Task, TaskId};
use crate::time::Millis;
use serde_json::Value;

#[derive(Clone, PartialEq, Debug, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

#[derive(Clone, PartialEq, Debug)]
struct Term {
    negated: bool,
    test: Test,
}

#[derive(Clone, PartialEq, Debug)]
enum Test {
    Status(Status),
    Outcome(Outcome),
    Name(String),
    Thread(String),
    Ref(i64),
    Parent(TaskId),
    Key(String),
    Conf(Vec<String>, String),
    AgeOver(u64),
    AgeUnder(u64),
    /// Lower-cased; matched against id, name, key and desc.
    Text(String),
}

/// What a filter pins down exactly, so the engine can use an index instead of a scan.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Narrowing<'a> {
    pub status: Option<Status>,
    pub name: Option<&'a str>,
    pub thread: Option<&'a str>,
    pub parent: Option<TaskId>,
}

impl Filter {
    /// Parses a filter; an error names the column where it went wrong.
    pub fn parse(text: &str) -> Result<Filter, Error> {
        let mut terms = Vec::new();
        for (column, word) in tokenize(text)? {
            let term = parse_term(&word).map_err(|why| {
                Error::new(
                    ErrorCode::InvalidQuery,
                    format!("filter `{text}`, at column {column}: {why}"),
                )
            })?;
            terms.push(term);
        }
        // Every term must hold, so their order is free: the cheap ones first spare the
        // costly ones most tasks (a scan of a million tasks runs this per task).
        terms.sort_by_key(|t| t.test.cost());
        Ok(Filter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether the task matches every term. `now` is needed for `age` terms.
    pub fn matches(&self, task: &Task, now: Millis) -> bool {
        self.terms
            .iter()
            .all(|term| term.test.holds(task, now) != term.negated)
    }

    /// The exact constraints of non-negated terms, for picking an index.
    pub fn narrowing(&self) -> Narrowing<'_> {
        let mut n = Narrowing::default();
        for term in self.terms.iter().filter(|t| !t.negated) {
            match &term.test {
                Test::Status(s) => n.status = Some(*s),
                Test::Outcome(_) => n.status = Some(Status::Done),
                Test::Name(name) => n.name = Some(name),
                Test::Thread(thread) => n.thread = Some(thread),
                Test::Parent(p) => n.parent = Some(*p),
                _ => {}
            }
        }
        n
    }
}

impl Test {
    /// Relative cost of `holds`: fields in the task itself, then one pointer away, then
    /// a walk into `conf`, then substring searches of several fields.
    fn cost(&self) -> u8 {
        match self {
            Test::Status(_)
            | Test::Outcome(_)
            | Test::Ref(_)
            | Test::Parent(_)
            | Test::AgeOver(_)
            | Test::AgeUnder(_) => 0,
            Test::Name(_) | Test::Thread(_) | Test::Key(_) => 1,
            Test::Conf(..) => 2,
            Test::Text(_) => 3,
        }
    }

    fn holds(&self, task: &Task, now: Millis) -> bool {
        match self {
            Test::Status(s) => task.status == *s,
            Test::Outcome(o) => task.outcome == Some(*o),
            Test::Name(n) => &*task.name == n,
            Test::Thread(t) => task.thread.as_deref() == Some(t.as_str()),
            Test::Ref(r) => task.ref_id == Some(*r),
            Test::Parent(p) => task.parent == Some(*p),
            Test::Key(k) => task.key.as_deref() == Some(k.as_str()),
            Test::Conf(path, want) => {
                // Parsing every task's conf is the cost of this test; most can be ruled
                // out on the text, which names every key it holds.
                let text = task.conf.as_str();
                if text.starts_with('{')
                    && path.first().is_some_and(|k| !text_may_hold_key(text, k))
                {
                    return false;
                }
                let conf = task.conf.value();
                conf_at(&conf, path).is_some_and(|v| value_is(v, want))
            }
            Test::AgeOver(ms) => now.since(task.created_at) > *ms,
            Test::AgeUnder(ms) => now.since(task.created_at) < *ms,
            Test::Text(needle) => {
                id_contains(task.id, needle)
                    || contains_ci(&task.name, needle)
                    || task.key.as_deref().is_some_and(|k| contains_ci(k, needle))
                    || task.desc.as_deref().is_some_and(|d| contains_ci(d, needle))
            }
        }
    }
}

/// Whether the id's decimal digits contain `needle`, without formatting a string (this
/// runs for every task of a text filter).
fn id_contains(id: TaskId, needle: &str) -> bool {
    let n = needle.as_bytes();
    if n.is_empty() {
        return true;
    }
    if n.len() > 20 || !n.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut rest = id;
    loop {
        i -= 1;
        buf[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    buf[i..].windows(n.len()).any(|w| w == n)
}

fn contains_ci(haystack: &str, lowercase_needle: &str) -> bool {
    if haystack.is_ascii() && lowercase_needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), lowercase_needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(lowercase_needle)
    }
}

/// Whether compact JSON `text` may hold an object key `key`: false only when `key`, which
/// would be written unescaped, never appears in quotes.
fn text_may_hold_key(text: &str, key: &str) -> bool {
    if key.is_empty() || key.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        return true;
    }
    let b = text.as_bytes();
    text.match_indices(key)
        .any(|(i, _)| i > 0 && b[i - 1] == b'"' && b.get(i + key.len()) == Some(&b'"'))
}

fn conf_at<'a>(conf: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(conf, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn value_is(value: &Value, want: &str) -> bool {
    match value {
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want || want.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => b.to_string() == want,
        Value::Null => want == "null",
        _ => false,
    }
}

/// Splits on white space, keeping double-quoted runs together; yields 1-based columns.
fn tokenize(text: &str) -> Result<Vec<(usize, String)>, Error> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut start = None;
    let mut quote_start = None;
    // Columns count characters; counted as we go, so a long filter stays linear.
    for (index, c) in text.chars().enumerate() {
        let column = index + 1;
        match c {
            '"' if quote_start.is_some() => quote_start = None,
            '"' => {
                quote_start = Some(column);
                start.get_or_insert(column);
            }
            c if c.is_whitespace() && quote_start.is_none() => {
                if let Some(s) = start.take() {
                    words.push((s, std::mem::take(&mut current)));
                }
            }
            c => {
                start.get_or_insert(column);
                current.push(c);
            }
        }
    }
    if let Some(column) = quote_start {
        return Err(Error::new(
            ErrorCode::InvalidQuery,
            format!(
                "filter `{text}`, at column {column}: the quote is never closed; add a closing \""
            ),
        ));
    }
    if let Some(s) = start {
        words.push((s, current));
    }
    Ok(words)
}

fn parse_term(word: &str) -> Result<Term, String> {
    let (negated, body) = match word.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    if body.is_empty() {
        return Err("`!` must be followed by a term, e.g. !status:failed".into());
    }
    Ok(Term {
        negated,
        test: parse_test(body)?,
    })
}

fn parse_test(body: &str) -> Result<Test, String> {
    if let Some(rest) = body.strip_prefix("age") {
        if let Some(d) = rest.strip_prefix('>') {
            return parse_duration(d).map(Test::AgeOver);
        }
        if let Some(d) = rest.strip_prefix('<') {
            return parse_duration(d).map(Test::AgeUnder);
        }
    }
    let Some((field, value)) = body.split_once(':') else {
        return Ok(Test::Text(body.to_lowercase()));
    };
    if value.is_empty() {
        return Err(format!("`{field}:` needs a value, e.g. {field}:something"));
    }
    if let Some(path) = field.strip_prefix("conf.") {
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "`conf.{}` is not a path; write e.g. conf.resource_type:Patient",
                path.join(".")
            ));
        }
        return Ok(Test::Conf(path, value.to_string()));
    }
    match field {
        "status" => Status::parse(value)
            .map(Test::Status)
            .or_else(|| Outcome::parse(value).map(Test::Outcome))
            .ok_or_else(|| {
                format!("`{value}` is not a status; use created, waiting, ready, requested, in-progress, done, succeeded, failed or canceled")
            }),
        "outcome" => Outcome::parse(value)
            .map(Test::Outcome)
            .ok_or_else(|| format!("`{value}` is not an outcome; use succeeded, failed or canceled")),
        "name" => Ok(Test::Name(value.to_string())),
        "thread" => Ok(Test::Thread(value.to_string())),
        "key" => Ok(Test::Key(value.to_string())),
        "ref" => value
            .parse()
            .map(Test::Ref)
            .map_err(|_| format!("`ref:{value}` needs a whole number, e.g. ref:42")),
        "parent" => value
            .parse()
            .map(Test::Parent)
            .map_err(|_| format!("`parent:{value}` needs a task id, e.g. parent:7")),
        other => Err(format!(
            "`{other}` is not a filter field; use status, outcome, name, thread, ref, parent, key, conf.<path> or age>/age<"
        )),
    }
}

fn parse_duration(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. 10m (units s, m, h, d)"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "`{other}` is not a duration unit; use s, m, h or d"
            ));
        }
    };
    Ok(n.saturating_mul(unit_ms))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_long_filter_parses_in_linear_time() {
        // A million characters: quadratic column counting would take minutes.
        let text = "word ".repeat(200_000);
        assert!(!Filter::parse(&text).unwrap().is_empty());
    }

    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn task() -> Task {
        Task {
            id: 42,
            name: Arc::from("import"),
            conf: json!({"resource_type": "Patient", "n": 3, "deep": {"flag": true}}).into(),
            key: Some("Task001".into()),
            parent: Some(7),
            thread: Some(Arc::from("imports")),
            auto: false,
            archive: false,
            open: false,
            desc: Some("Nightly Patient load".into()),
            priority: 0,
            timeout: None,
            ref_id: Some(9),
            execute_at: None,
            hold: false,
            requester: Arc::from("local"),
            status: Status::Done,
            outcome: Some(Outcome::Failed),
            outcome_reason: None,
            blocked_by: None,
            result: None,
            error: None,
            retry_count: 0,
            attempt: 1,
            exec_id: None,
            executor: None,
            progress: None,
            awaiting_conclude: false,
            rerun_of: None,
            created_at: Millis(0),
            updated_at: Millis(0),
            started_at: None,
            concluded_at: None,
            conclude_at: None,
        }
    }

    fn hits(filter: &str) -> bool {
        Filter::parse(filter)
            .unwrap()
            .matches(&task(), Millis(11 * 60_000))
    }

    #[test]
    fn every_field_matches() {
        for f in [
            "",
            "status:failed",
            "status:done",
            "outcome:failed",
            "name:import",
            "thread:imports",
            "ref:9",
            "parent:7",
            "key:Task001",
            "conf.resource_type:Patient",
            "conf.n:3",
            "conf.deep.flag:true",
            "age>10m",
            "age<1h",
            "patient",
            "42",
            "!status:ready",
            "name:import  thread:imports",
            "\"nightly patient\"",
        ] {
            assert!(hits(f), "{f} should match");
        }
        for f in [
            "status:succeeded",
            "name:imp",
            "thread:other",
            "ref:8",
            "conf.resource_type:Practitioner",
            "conf.missing:x",
            "age>1h",
            "!patient",
            "status:failed zzz",
        ] {
            assert!(!hits(f), "{f} should not match");
        }
    }

    #[test]
    fn the_text_precheck_never_rules_out_a_present_key() {
        let text = json!({"x": "n", "nn": 1, "q\"k": 2, "": 3}).to_string();
        for key in ["nn", "q\"k", ""] {
            assert!(text_may_hold_key(&text, key), "{key}");
        }
        // Only a key absent from the text is ruled out (`n` appears, as a value).
        for key in ["m", "q", "zz"] {
            assert!(!text_may_hold_key(&text, key), "{key}");
        }
        let mut t = task();
        t.conf = json!(["a", "b"]).into();
        assert!(Filter::parse("conf.1:b").unwrap().matches(&t, Millis(0)));
    }

    #[test]
    fn cheap_terms_are_tested_first_whatever_the_order_written() {
        let f = Filter::parse("word conf.a:1 name:x !status:ready age>1m").unwrap();
        let costs: Vec<u8> = f.terms.iter().map(|t| t.test.cost()).collect();
        assert_eq!(costs, [0, 0, 1, 2, 3]);
        // The negation stays with its term.
        assert!(
            f.terms
                .iter()
                .any(|t| t.negated && t.test == Test::Status(Status::Ready))
        );
        for (a, b) in [
            ("patient status:ready", "status:ready patient"),
            ("!zzz name:import", "name:import !zzz"),
        ] {
            assert_eq!(hits(a), hits(b), "{a} / {b}");
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        for (f, needle) in [
            ("status:broken", "column 1"),
            ("name:x colour:red", "column 8"),
            ("ref:abc", "whole number"),
            ("age>10y", "unit"),
            ("\"open", "never closed"),
            ("!", "followed by a term"),
            ("thread:", "needs a value"),
        ] {
            let err = Filter::parse(f).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidQuery);
            assert!(err.message.contains(needle), "{f}: {}", err.message);
        }
    }

    #[test]
    fn narrowing_picks_exact_terms() {
        let f = Filter::parse("thread:a name:sum !status:done").unwrap();
        let n = f.narrowing();
        assert_eq!(n.thread, Some("a"));
        assert_eq!(n.name, Some("sum"));
        assert_eq!(n.status, None);
    }
}
