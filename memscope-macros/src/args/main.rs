//! The arguments of `#[memscope::main]`: `report`, `summary`, `format` and `serve` of its own,
//! and the `#[tokio::main]` arguments it passes through.

use proc_macro2::TokenStream;
use syn::{Ident, LitBool, LitStr};

use super::{collect, duplicate, expect_bool, expect_str, one_of, set_once, Errors, RawArg};

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

/// The arguments of `#[memscope::main]`, validated.
#[derive(Default)]
pub(crate) struct MainArgs {
    pub(crate) report: Option<LitStr>,
    pub(crate) summary: Option<LitBool>,
    pub(crate) format: Option<LitStr>,
    pub(crate) serve: Option<LitStr>,
    /// `#[tokio::main]` arguments, as written, for tokio to validate.
    pub(crate) tokio: Vec<TokenStream>,
}

impl MainArgs {
    /// Parses and validates; on error returns what was valid plus the errors.
    pub(crate) fn parse(args: TokenStream) -> (Self, syn::Result<()>) {
        let mut errors = Errors::default();
        let mut this = Self::default();
        let mut tokio_seen: Vec<Ident> = Vec::new();
        collect(args, &mut errors, |arg| this.set(arg, &mut tokio_seen));
        this.validate(&mut errors);
        (this, errors.into_result())
    }

    /// First pass: stores one argument, or says why it cannot be stored.
    fn set(&mut self, arg: &RawArg, tokio_seen: &mut Vec<Ident>) -> syn::Result<()> {
        let key = arg.key.to_string();
        match key.as_str() {
            "report" => expect_str(arg, "report = \"target/memscope.json\"")
                .and_then(|lit| set_once(&mut self.report, &arg.key, lit)),
            "summary" => expect_bool(arg, "summary = false")
                .and_then(|lit| set_once(&mut self.summary, &arg.key, lit)),
            "format" => expect_str(arg, "format = \"json\"")
                .and_then(|lit| set_once(&mut self.format, &arg.key, lit)),
            "serve" if !cfg!(feature = "serve") => Err(syn::Error::new(
                arg.key.span(),
                "`serve` needs memscope's `serve` feature: \
                 `memscope = { version = \"…\", features = [\"serve\"] }`",
            )),
            "serve" => expect_str(arg, "serve = \"127.0.0.1:6060\"")
                .and_then(|lit| set_once(&mut self.serve, &arg.key, lit)),
            "crate" => Err(syn::Error::new(
                arg.key.span(),
                "`crate` is set by `#[memscope::main]` itself; remove this argument",
            )),
            key if TOKIO_KEYS.contains(&key) => self.pass_to_tokio(arg, tokio_seen),
            _ => Err(syn::Error::new(
                arg.key.span(),
                format!(
                    "unknown argument `{key}`; expected `report`, `summary`, `format`, \
                     `serve`, or a `#[tokio::main]` argument ({})",
                    one_of(TOKIO_KEYS)
                ),
            )),
        }
    }

    /// Keeps a `#[tokio::main]` argument as written; only a repeat is rejected here.
    fn pass_to_tokio(&mut self, arg: &RawArg, tokio_seen: &mut Vec<Ident>) -> syn::Result<()> {
        if tokio_seen.contains(&arg.key) {
            return Err(duplicate(&arg.key));
        }
        // The value is tokio's to judge: its own messages are the ones its users know.
        tokio_seen.push(arg.key.clone());
        self.tokio.push(arg.tokens.clone());
        Ok(())
    }

    /// Second pass: validates the values collected, dropping those that are not fine.
    fn validate(&mut self, errors: &mut Errors) {
        if let Some(lit) = &self.format {
            if !FORMATS.contains(&lit.value().as_str()) {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown format `{}`; expected one of {}",
                        lit.value(),
                        one_of(&FORMATS)
                    ),
                ));
                self.format = None;
            }
        }
        if let Some(lit) = &self.serve {
            if !is_address(&lit.value()) {
                errors.push(syn::Error::new(
                    lit.span(),
                    "expected `host:port` or a port, e.g. `serve = \"127.0.0.1:6060\"`",
                ));
                self.serve = None;
            }
        }
        if let Some(lit) = &self.report {
            if lit.value().trim().is_empty() {
                errors.push(syn::Error::new(
                    lit.span(),
                    "`report` must not be empty, e.g. `report = \"target/memscope.json\"`",
                ));
                self.report = None;
            }
        }
    }
}

/// `6060`, `:6060`, `host:6060`, `[::1]:6060`: a port, after a host or alone.
fn is_address(value: &str) -> bool {
    let port = value.rsplit_once(':').map_or(value, |(_, port)| port);
    let host = value.rsplit_once(':').map_or("", |(host, _)| host);
    port.parse::<u16>().is_ok() && !host.contains(char::is_whitespace) && !host.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn main(args: TokenStream) -> (MainArgs, Vec<String>) {
        let (parsed, result) = MainArgs::parse(args);
        (parsed, crate::args::messages(result))
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
                "unknown argument `threads`; expected `report`, `summary`, `format`, `serve`, or a \
                 `#[tokio::main]` argument (`flavor`, `worker_threads`, `start_paused`, or \
                 `unhandled_panic`)",
                "unknown format `xml`; expected one of `text`, `json`, `html`, or `trace`",
            ]
        );
    }
}
