//! Argument collection for both attributes.
//!
//! Two passes, as in tokio-macros: first every `key = value` pair goes through
//! one setter per key, which rejects a repeat and keeps the value's `Span`;
//! then the collected values are validated as a whole. Every problem found is
//! kept (combined into one `syn::Error`), so the user sees each bad argument
//! once, and the caller can still expand with the arguments that were fine.
//!
//! This file holds what both attributes share: the error collector, the split
//! into raw arguments, and the value helpers. Each attribute's own keys and
//! checks are in [`track`] and [`main`].

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitBool, LitInt, LitStr, Meta, Token};

mod main;
mod track;

pub(crate) use self::main::MainArgs;
pub(crate) use self::track::TrackArgs;

/// Lists accepted words as "`a`, `b`, or `c`", as every message of memscope does.
pub(crate) use memscope_vocab::one_of;

/// Collects errors so that every bad argument is reported, not only the first.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Keeps `error` after those already collected.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value of `result`, or `None` with its error kept.
    pub(crate) fn push_result<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// `Ok` if nothing was collected, else every error combined.
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

/// The value part of a [`RawArg`], by the form it was written in.
pub(crate) enum RawValue {
    /// `key = value`
    Expr(Expr),
    /// `key` alone
    Flag,
    /// `key(...)`
    List,
}

/// The first pass of both attributes: splits `args` and hands every argument to
/// `set`, keeping each error, whether from the split or from `set`.
pub(crate) fn collect(
    args: TokenStream,
    errors: &mut Errors,
    mut set: impl FnMut(&RawArg) -> syn::Result<()>,
) {
    let raw = parse_raw(args, errors);
    let raw = errors.push_result(raw);
    for arg in raw.into_iter().flatten() {
        let result = set(&arg);
        errors.push_result(result);
    }
}

/// Splits an attribute's arguments into `key = value` pairs.
///
/// A syntax error in the list as a whole is returned as is; a single argument
/// whose key is not an identifier becomes an error in `errors` and is skipped.
fn parse_raw(args: TokenStream, errors: &mut Errors) -> syn::Result<Vec<RawArg>> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut raw = Vec::with_capacity(metas.len());
    for meta in metas {
        let tokens = meta.to_token_stream();
        let (path, value) = match meta {
            Meta::NameValue(nv) => (nv.path, RawValue::Expr(ungroup(nv.value))),
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

/// The expression inside the invisible groups a `macro_rules!` fragment is passed in
/// (`#[memscope::test(peak = $n)]` with `$n:literal`), so generated arguments read as
/// the same literals written by hand.
fn ungroup(mut expr: Expr) -> Expr {
    while let Expr::Group(group) = expr {
        expr = *group.expr;
    }
    expr
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

/// A value of a `key = value` argument that must be an integer literal.
pub(crate) fn expect_int(arg: &RawArg, example: &str) -> syn::Result<LitInt> {
    match &arg.value {
        RawValue::Expr(Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        })) => Ok(lit.clone()),
        RawValue::Expr(expr) => Err(syn::Error::new_spanned(
            expr,
            format!("expected an integer literal, e.g. `{example}`"),
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

/// The error for a key written without `= value`; it spans the whole argument.
fn missing_value(arg: &RawArg, example: &str) -> syn::Error {
    syn::Error::new_spanned(
        &arg.tokens,
        format!("expected `{} = ...`, e.g. `{example}`", arg.key),
    )
}

/// Stores a value once; a second occurrence is an error on its key.
pub(crate) fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    *slot = Some(value);
    Ok(())
}

/// The error for a key given a second time, on that second key.
pub(crate) fn duplicate(key: &Ident) -> syn::Error {
    syn::Error::new(key.span(), format!("duplicate argument `{key}`"))
}

/// The messages of a parse's errors, one per error, for the tests of both attributes.
#[cfg(test)]
pub(crate) fn messages(result: syn::Result<()>) -> Vec<String> {
    result
        .err()
        .map(|e| e.into_iter().map(|e| e.to_string()).collect())
        .unwrap_or_default()
}
