//! The arguments of `#[memscope::track]`: `name = "..."`, `task_type = "..."` and
//! `label = <expression>`.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Ident, LitStr};

use super::{collect, expect_str, one_of, set_once, Errors, RawArg, RawValue};

/// Accepted `task_type` strings and the `TaskType` variant each one names (the runtime
/// parses the same list).
pub(crate) use memscope_vocab::TASK_TYPES;

/// The arguments of `#[memscope::track]`, validated.
#[derive(Default)]
pub(crate) struct TrackArgs {
    /// `name = "..."`; `None` means the fn's module-qualified name.
    pub(crate) name: Option<LitStr>,
    /// The `TaskType` variant and the span of the string that named it.
    pub(crate) task_type: Option<(Ident, Span)>,
    /// `label = <expression>`: any `Display` value, evaluated when the fn is called.
    pub(crate) label: Option<Expr>,
}

/// What the first pass collects: each value as written, not yet validated.
#[derive(Default)]
struct Collected {
    name: Option<LitStr>,
    task_type: Option<LitStr>,
    label: Option<Expr>,
}

impl TrackArgs {
    /// Parses and validates; on error returns what was valid plus the errors.
    pub(crate) fn parse(args: TokenStream) -> (Self, syn::Result<()>) {
        let mut errors = Errors::default();
        let mut collected = Collected::default();
        collect(args, &mut errors, |arg| collected.set(arg));
        let this = collected.validate(&mut errors);
        (this, errors.into_result())
    }
}

impl Collected {
    /// First pass: stores one argument, or says why it cannot be stored.
    fn set(&mut self, arg: &RawArg) -> syn::Result<()> {
        match arg.key.to_string().as_str() {
            "name" => expect_str(arg, "name = \"fetch_user\"")
                .and_then(|lit| set_once(&mut self.name, &arg.key, lit)),
            "task_type" => expect_str(arg, "task_type = \"io\"")
                .and_then(|lit| set_once(&mut self.task_type, &arg.key, lit)),
            "label" => expect_expr(arg).and_then(|e| set_once(&mut self.label, &arg.key, e)),
            _ => Err(syn::Error::new(
                arg.key.span(),
                format!(
                    "unknown argument `{}`; expected `name`, `task_type` or `label`",
                    arg.key
                ),
            )),
        }
    }

    /// Second pass: validates the values collected, keeping those that are fine.
    fn validate(self, errors: &mut Errors) -> TrackArgs {
        let task_type = self
            .task_type
            .and_then(|lit| errors.push_result(task_type_variant(&lit)));
        if let Some(lit) = &self.name {
            if lit.value().trim().is_empty() {
                errors.push(syn::Error::new(
                    lit.span(),
                    "`name` must not be empty, e.g. `name = \"fetch_user\"`",
                ));
            }
        }
        TrackArgs {
            name: self.name,
            task_type,
            label: self.label,
        }
    }
}

/// The expression of `label = <expression>`.
fn expect_expr(arg: &RawArg) -> syn::Result<Expr> {
    match &arg.value {
        RawValue::Expr(e) => Ok(e.clone()),
        _ => Err(syn::Error::new_spanned(
            &arg.tokens,
            "`label` takes a value shown beside the task's name, e.g. `label = peer`",
        )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn track(args: TokenStream) -> (TrackArgs, Vec<String>) {
        let (parsed, result) = TrackArgs::parse(args);
        (parsed, crate::args::messages(result))
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
                "unknown argument `level`; expected `name`, `task_type` or `label`",
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
}
