//! Argument collection for both attributes.
//!
//! Two passes, as in tokio-macros: first every `key = value` pair goes through
//! one setter per key, which rejects a repeat and keeps the value's `Span`;
//! then the collected values are validated as a whole. Every problem found is
//! kept (combined into one `syn::Error`), so the user sees each bad argument
//! once, and the caller can still expand with the arguments that were fine.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitStr, Meta, Token};

/// Lists accepted words as "`a`, `b`, or `c`", as every message of memscope does.
pub(crate) use memscope_vocab::one_of;
/// Accepted `task_type` strings and the `TaskType` variant each one names (the runtime
/// parses the same list).
pub(crate) use memscope_vocab::TASK_TYPES;

/// Accepted `format` strings of `#[memscope::main]` (the runtime's report formats).
pub(crate) const FORMATS: [&str; 4] = {
    let f = memscope_vocab::REPORT_FORMATS;
    [f[0].0, f[1].0, f[2].0, f[3].0]
};

/// `#[tokio::main]` arguments that `#[memscope::main]` passes through verbatim.
pub(crate) const TOKIO_KEYS: &[&str] = &[
    "flavor",
    "worker_threads",
    "start_paused",
    "unhandled_panic",
];

/// Collects errors so that every bad argument is reported, not only the first.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn push_result<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    pub(crate) fn into_result(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// One argument as written: its key and, unless it is a bare flag, its value.
pub(crate) struct RawArg {
    pub(crate) key: Ident,
    pub(crate) value: RawValue,
    /// The whole argument as written, for passing it through verbatim.
    pub(crate) tokens: TokenStream,
}

pub(crate) enum RawValue {
    /// `key = value`
    Expr(Expr),
    /// `key` alone
    Flag,
    /// `key(...)`
    List,
}

/// Splits an attribute's arguments into `key = value` pairs.
///
/// A syntax error in the list as a whole is returned as is; a single argument
/// whose key is not an identifier becomes an error in `errors` and is skipped.
pub(crate) fn parse_raw(args: TokenStream, errors: &mut Errors) -> syn::Result<Vec<RawArg>> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut raw = Vec::with_capacity(metas.len());
    for meta in metas {
        let tokens = meta.to_token_stream();
        let (path, value) = match meta {
            Meta::NameValue(nv) => (nv.path, RawValue::Expr(nv.value)),
            Meta::Path(path) => (path, RawValue::Flag),
            Meta::List(list) => (list.path, RawValue::List),
        };
        match path.get_ident() {
            Some(key) => raw.push(RawArg {
                key: key.clone(),
                value,
                tokens,
            }),
            None => errors.push(syn::Error::new_spanned(
                path,
                "expected an argument name, e.g. `name = \"fetch_user\"`",
            )),
        }
    }
    Ok(raw)
}

/// A value of a `key = value` argument that must be a string literal.
pub(crate) fn expect_str(arg: &RawArg, example: &str) -> syn::Result<LitStr> {
    match &arg.value {
        RawValue::Expr(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => Ok(lit.clone()),
        RawValue::Expr(expr) => Err(syn::Error::new_spanned(
            expr,
            format!("expected a string literal, e.g. `{example}`"),
        )),
        RawValue::Flag | RawValue::List => Err(missing_value(arg, example)),
    }
}

/// A value of a `key = value` argument that must be `true` or `false`.
pub(crate) fn expect_bool(arg: &RawArg, example: &str) -> syn::Result<LitBool> {
    match &arg.value {
        RawValue::Expr(Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        })) => Ok(lit.clone()),
        RawValue::Expr(expr) => Err(syn::Error::new_spanned(
            expr,
            format!("expected `true` or `false`, e.g. `{example}`"),
        )),
        RawValue::Flag | RawValue::List => Err(missing_value(arg, example)),
    }
}

fn missing_value(arg: &RawArg, example: &str) -> syn::Error {
    syn::Error::new_spanned(
        &arg.tokens,
        format!("expected `{} = ...`, e.g. `{example}`", arg.key),
    )
}

/// Stores a value once; a second occurrence is an error on its key.
fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate argument `{key}`"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

// ---------------------------------------------------------------- #[track]

/// The arguments of `#[memscope::track]`, validated.
#[derive(Default)]
pub(crate) struct TrackArgs {
    /// `name = "..."`; `None` means the fn's module-qualified name.
    pub(crate) name: Option<LitStr>,
    /// The `TaskType` variant and the span of the string that named it.
    pub(crate) task_type: Option<(Ident, Span)>,
}

impl TrackArgs {
    /// Parses and validates; on error returns what was valid plus the errors.
    pub(crate) fn parse(args: TokenStream) -> (Self, syn::Result<()>) {
        let mut errors = Errors::default();
        let mut name = None;
        let mut task_type = None;
        let raw = parse_raw(args, &mut errors);
        let raw = errors.push_result(raw);
        for arg in raw.into_iter().flatten() {
            let set = match arg.key.to_string().as_str() {
                "name" => expect_str(&arg, "name = \"fetch_user\"")
                    .and_then(|lit| set_once(&mut name, &arg.key, lit)),
                "task_type" => expect_str(&arg, "task_type = \"io\"")
                    .and_then(|lit| set_once(&mut task_type, &arg.key, lit)),
                _ => Err(syn::Error::new(
                    arg.key.span(),
                    format!(
                        "unknown argument `{}`; expected `name` or `task_type`",
                        arg.key
                    ),
                )),
            };
            errors.push_result(set);
        }

        // Second pass: validate the values collected above.
        let task_type = task_type.and_then(|lit| errors.push_result(task_type_variant(&lit)));
        if let Some(lit) = &name {
            if lit.value().trim().is_empty() {
                errors.push(syn::Error::new(
                    lit.span(),
                    "`name` must not be empty, e.g. `name = \"fetch_user\"`",
                ));
            }
        }
        (Self { name, task_type }, errors.into_result())
    }
}

/// Maps a `task_type` string to the `TaskType` variant it names.
pub(crate) fn task_type_variant(lit: &LitStr) -> syn::Result<(Ident, Span)> {
    let value = lit.value();
    TASK_TYPES
        .iter()
        .find(|(word, _)| *word == value)
        .map(|(_, variant)| (Ident::new(variant, lit.span()), lit.span()))
        .ok_or_else(|| {
            let words: Vec<&str> = TASK_TYPES.iter().map(|(word, _)| *word).collect();
            syn::Error::new(
                lit.span(),
                format!(
                    "unknown task_type `{value}`; expected one of {}",
                    one_of(&words)
                ),
            )
        })
}

// ----------------------------------------------------------------- #[main]

/// The arguments of `#[memscope::main]`, validated.
#[derive(Default)]
pub(crate) struct MainArgs {
    pub(crate) report: Option<LitStr>,
    pub(crate) summary: Option<LitBool>,
    pub(crate) format: Option<LitStr>,
    /// `#[tokio::main]` arguments, as written, for tokio to validate.
    pub(crate) tokio: Vec<TokenStream>,
}

impl MainArgs {
    /// Parses and validates; on error returns what was valid plus the errors.
    pub(crate) fn parse(args: TokenStream) -> (Self, syn::Result<()>) {
        let mut errors = Errors::default();
        let mut this = Self::default();
        let mut tokio_seen: Vec<Ident> = Vec::new();
        let raw = parse_raw(args, &mut errors);
        let raw = errors.push_result(raw);
        for arg in raw.into_iter().flatten() {
            let key = arg.key.to_string();
            let set = match key.as_str() {
                "report" => expect_str(&arg, "report = \"target/memscope.json\"")
                    .and_then(|lit| set_once(&mut this.report, &arg.key, lit)),
                "summary" => expect_bool(&arg, "summary = false")
                    .and_then(|lit| set_once(&mut this.summary, &arg.key, lit)),
                "format" => expect_str(&arg, "format = \"json\"")
                    .and_then(|lit| set_once(&mut this.format, &arg.key, lit)),
                "crate" => Err(syn::Error::new(
                    arg.key.span(),
                    "`crate` is set by `#[memscope::main]` itself; remove this argument",
                )),
                key if TOKIO_KEYS.contains(&key) => {
                    if tokio_seen.contains(&arg.key) {
                        Err(syn::Error::new(
                            arg.key.span(),
                            format!("duplicate argument `{key}`"),
                        ))
                    } else {
                        // The value is tokio's to judge: its own messages
                        // are the ones its users know.
                        tokio_seen.push(arg.key.clone());
                        this.tokio.push(arg.tokens.clone());
                        Ok(())
                    }
                }
                _ => Err(syn::Error::new(
                    arg.key.span(),
                    format!(
                        "unknown argument `{key}`; expected `report`, `summary`, `format`, \
                         or a `#[tokio::main]` argument ({})",
                        one_of(TOKIO_KEYS)
                    ),
                )),
            };
            errors.push_result(set);
        }

        // Second pass: validate the values collected above.
        if let Some(lit) = &this.format {
            if !FORMATS.contains(&lit.value().as_str()) {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown format `{}`; expected one of {}",
                        lit.value(),
                        one_of(&FORMATS)
                    ),
                ));
                this.format = None;
            }
        }
        if let Some(lit) = &this.report {
            if lit.value().trim().is_empty() {
                errors.push(syn::Error::new(
                    lit.span(),
                    "`report` must not be empty, e.g. `report = \"target/memscope.json\"`",
                ));
                this.report = None;
            }
        }
        (this, errors.into_result())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn track(args: TokenStream) -> (TrackArgs, Vec<String>) {
        let (parsed, result) = TrackArgs::parse(args);
        let messages = result
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        (parsed, messages)
    }

    fn main(args: TokenStream) -> (MainArgs, Vec<String>) {
        let (parsed, result) = MainArgs::parse(args);
        let messages = result
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        (parsed, messages)
    }

    #[test]
    fn track_empty_args_use_defaults() {
        let (args, errors) = track(quote!());
        assert!(errors.is_empty());
        assert!(args.name.is_none());
        assert!(args.task_type.is_none());
    }

    #[test]
    fn track_accepts_name_and_every_task_type() {
        for (word, variant) in TASK_TYPES {
            let (args, errors) = track(quote!(name = "fetch_user", task_type = #word,));
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(args.name.unwrap().value(), "fetch_user");
            assert_eq!(args.task_type.unwrap().0, variant);
        }
    }

    #[test]
    fn track_rejects_unknown_task_type_and_lists_the_valid_ones() {
        let (args, errors) = track(quote!(task_type = "gpu"));
        assert!(args.task_type.is_none());
        assert_eq!(
            errors,
            [
                "unknown task_type `gpu`; expected one of `cpu`, `io`, `network`, `memory`, \
              `background`, or `unspecified`"
            ]
        );
    }

    #[test]
    fn track_rejects_unknown_duplicate_and_non_string_arguments_all_at_once() {
        let (args, errors) = track(quote!(name = "a", name = "b", level = 3, task_type = io));
        assert_eq!(args.name.unwrap().value(), "a", "the first value is kept");
        assert_eq!(
            errors,
            [
                "duplicate argument `name`",
                "unknown argument `level`; expected `name` or `task_type`",
                "expected a string literal, e.g. `task_type = \"io\"`",
            ]
        );
    }

    #[test]
    fn track_rejects_flags_lists_paths_and_empty_names() {
        let (_, errors) = track(quote!(name, task_type("io"), a::b = 1, name = " "));
        assert_eq!(
            errors,
            [
                "expected an argument name, e.g. `name = \"fetch_user\"`",
                "expected `name = ...`, e.g. `name = \"fetch_user\"`",
                "expected `task_type = ...`, e.g. `task_type = \"io\"`",
                "`name` must not be empty, e.g. `name = \"fetch_user\"`",
            ]
        );
    }

    #[test]
    fn track_reports_a_malformed_list() {
        let (_, errors) = track(quote!("fetch_user"));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn main_splits_own_and_tokio_arguments() {
        let (args, errors) = main(quote!(
            flavor = "multi_thread",
            report = "target/x.json",
            worker_threads = 2,
            summary = false,
            format = "json"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.report.unwrap().value(), "target/x.json");
        assert!(!args.summary.unwrap().value);
        assert_eq!(args.format.unwrap().value(), "json");
        let tokio: Vec<String> = args.tokio.iter().map(ToString::to_string).collect();
        assert_eq!(tokio, ["flavor = \"multi_thread\"", "worker_threads = 2"]);
    }

    #[test]
    fn main_rejects_bad_arguments() {
        let (args, errors) = main(quote!(
            crate = "tokio",
            flavor = "current_thread",
            flavor = "multi_thread",
            summary = "yes",
            format = "xml",
            threads = 4
        ));
        assert_eq!(args.tokio.len(), 1, "the first flavor is kept");
        assert!(args.format.is_none());
        assert_eq!(
            errors,
            [
                "`crate` is set by `#[memscope::main]` itself; remove this argument",
                "duplicate argument `flavor`",
                "expected `true` or `false`, e.g. `summary = false`",
                "unknown argument `threads`; expected `report`, `summary`, `format`, or a \
                 `#[tokio::main]` argument (`flavor`, `worker_threads`, `start_paused`, or \
                 `unhandled_panic`)",
                "unknown format `xml`; expected one of `text`, `json`, `html`, or `trace`",
            ]
        );
    }
}
