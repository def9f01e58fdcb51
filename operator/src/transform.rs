//! The Jsonnet transform of a schema migration (`IdentitySchema.spec.transform`),
//! checked before anything moves: its size and its syntax, with the server's limit.
//! Running it is the server's job (one evaluator run per batch, with a time limit).

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::parser::ParseError;
use rsjsonnet_lang::program::{LoadError, Program};

/// Largest transform the server accepts, in bytes.
pub const MAX_TRANSFORM_BYTES: usize = 64 * 1024;

/// Whether `source` is a transform the server will run; the error says where it is wrong.
pub fn check(source: &str) -> Result<(), String> {
    if source.len() > MAX_TRANSFORM_BYTES {
        return Err(format!(
            "{} bytes, more than the {MAX_TRANSFORM_BYTES} the server accepts",
            source.len()
        ));
    }
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    let (context, _) = program
        .span_manager_mut()
        .insert_source_context(source.len());
    let Err(error) = program.load_source(context, source.as_bytes(), true, "transform") else {
        return Ok(());
    };
    Err(match error {
        LoadError::Parse(ParseError::Expected { span, instead, .. }) => {
            let (_, offset, _) = program.span_manager().get_span(span);
            let line = source
                .get(..offset)
                .map_or(1, |text| text.matches('\n').count() + 1);
            format!("syntax error on line {line}: unexpected {instead:?}")
        }
        LoadError::Lex(lex) => format!("syntax error: {lex:?}"),
        LoadError::Analyze(analyze) => format!("{analyze:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_functions_and_refuses_broken_or_huge_programs() {
        assert_eq!(
            check("function(ctx) {traits: ctx.identity.traits + {x: 1}}"),
            Ok(())
        );
        let broken = check("function(ctx)\n  {traits: ctx.identity.traits +}").unwrap_err();
        assert!(broken.contains("line 2"), "{broken}");
        assert!(check("local f = 1; g").is_err(), "an unknown variable");
        let huge = format!("{{a: \"{}\"}}", "x".repeat(MAX_TRANSFORM_BYTES));
        assert!(check(&huge).unwrap_err().contains("bytes"));
    }
}
