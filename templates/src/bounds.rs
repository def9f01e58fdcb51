//! The static bounds of a template set, checked when it is parsed.
//!
//! The engine bounds nesting (when parsing), call depth and `range`
//! iterations (when rendering), and the output is capped; what remains is
//! work that writes nothing: a chain of templates each calling the next twice
//! runs 2^n times without a loop. So every `{{template}}` call is expanded in
//! place and the nodes counted (a loop body once: its iterations are bounded
//! at render time); a set whose main template expands past
//! [`LIMITS`](crate::LIMITS)`.expanded_nodes`, or that calls itself through
//! any chain of templates, is refused. Calls of functions that do not exist
//! are refused here too, as Go's parser does.

use std::collections::HashMap;

use gotmpl::parse::{Expr, ListNode, Node, PipeNode};

use crate::{LIMITS, ParseError};

/// Checks the set whose templates `lookup` finds, rendering `main`.
pub fn check<'a>(
    main: &str,
    lookup: &dyn Fn(&str) -> Option<&'a ListNode>,
    names: &[&str],
) -> Result<(), ParseError> {
    if names.len() > LIMITS.templates {
        return Err(ParseError {
            file: main.to_owned(),
            line: None,
            message: format!("more than {} templates in one set", LIMITS.templates),
        });
    }
    let mut walk = Walk {
        lookup,
        funcs: crate::funcs::all(),
        depth: 0,
        done: HashMap::new(),
        stack: Vec::new(),
    };
    let size = walk.template(main, main, None)?;
    if size > LIMITS.expanded_nodes {
        return Err(ParseError {
            file: main.to_owned(),
            line: None,
            message: format!(
                "too large once its template calls are expanded ({size} nodes, at most {})",
                LIMITS.expanded_nodes
            ),
        });
    }
    Ok(())
}

struct Walk<'a, 'f> {
    lookup: &'f dyn Fn(&str) -> Option<&'a ListNode>,
    funcs: gotmpl::FuncMap,
    depth: usize,
    done: HashMap<String, u64>,
    stack: Vec<String>,
}

impl<'a> Walk<'a, '_> {
    fn template(&mut self, main: &str, name: &str, line: Option<usize>) -> Result<u64, ParseError> {
        if let Some(size) = self.done.get(name) {
            return Ok(*size);
        }
        if self.stack.iter().any(|n| n == name) {
            return Err(ParseError {
                file: main.to_owned(),
                line,
                message: format!("template {name:?} calls itself; recursive templates are refused"),
            });
        }
        // A missing template fails when it is called, as in Go.
        let Some(tree) = (self.lookup)(name) else {
            return Ok(1);
        };
        self.stack.push(name.to_owned());
        let size = self.list(main, tree)?;
        self.stack.pop();
        self.done.insert(name.to_owned(), size);
        Ok(size)
    }

    fn list(&mut self, main: &str, list: &ListNode) -> Result<u64, ParseError> {
        // Blocks and calls nest at most as deep as the engine will run them, which
        // also bounds this walk's own recursion.
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                file: main.to_owned(),
                line: Some(list.pos.line).filter(|l| *l > 0),
                message: format!("blocks and template calls nest more than {MAX_DEPTH} deep"),
            });
        }
        self.depth += 1;
        let mut size: u64 = 0;
        for node in &list.nodes {
            size = size.saturating_add(self.node(main, node)?);
            if size > LIMITS.expanded_nodes {
                break;
            }
        }
        self.depth -= 1;
        Ok(size)
    }

    fn node(&mut self, main: &str, node: &Node) -> Result<u64, ParseError> {
        Ok(match node {
            Node::List(list) => self.list(main, list)?,
            Node::Action(action) => 1 + self.pipe(main, &action.pipe)?,
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                let mut size = 1 + self.pipe(main, &b.pipe)? + self.list(main, &b.body)?;
                if let Some(other) = &b.else_body {
                    size = size.saturating_add(self.list(main, other)?);
                }
                size
            }
            Node::Template(t) => {
                let pipe = match &t.pipe {
                    Some(pipe) => self.pipe(main, pipe)?,
                    None => 0,
                };
                let line = Some(t.pos.line).filter(|l| *l > 0);
                1 + pipe + self.template(main, &t.name, line)?
            }
            Node::Text(_) | Node::Define(_) | Node::Break(_) | Node::Continue(_) => 1,
        })
    }
}

impl Walk<'_, '_> {
    /// The size of a pipeline; refuses calls of unknown functions.
    fn pipe(&self, main: &str, pipe: &PipeNode) -> Result<u64, ParseError> {
        let mut size = 0;
        for arg in pipe.commands.iter().flat_map(|c| &c.args) {
            size += 1;
            match arg {
                Expr::Pipe(_, inner) => size += self.pipe(main, inner)?,
                Expr::Identifier(pos, name)
                    if !BUILTINS.contains(&name.as_str())
                        && !self.funcs.contains_key(name.as_str()) =>
                {
                    return Err(ParseError {
                        file: main.to_owned(),
                        line: Some(pos.line).filter(|l| *l > 0),
                        message: format!("function {name:?} not defined"),
                    });
                }
                _ => {}
            }
        }
        Ok(size)
    }
}

/// How deep blocks and template calls may nest, all templates together: the engine's
/// own limit when it renders.
const MAX_DEPTH: usize = 200;

/// Go's built-in functions, which the engine provides.
const BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];
