#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value as Json, json};

use super::*;

fn data() -> Json {
    json!({
        "To": "ada@example.com",
        "RecoveryCode": "123456",
        "VerificationURL": "https://id.example/v?token=\"><script>alert(1)</script>",
        "ExpiresInMinutes": 15,
        "lang": "en_US",
        "Identity": {"id": "9f", "traits": {"email": "ada@example.com", "name": "<b>Ada</b>"}},
        "TransientPayload": {"k": "v<&>"},
        "Empty": "",
        "Items": [1, 2, 3]
    })
}

fn text(src: &str) -> String {
    parse(
        Kind::Text,
        File {
            name: "t",
            text: src,
        },
        &[],
    )
    .unwrap()
    .render(&data())
    .unwrap()
}

fn html(src: &str) -> String {
    parse(
        Kind::Html,
        File {
            name: "t",
            text: src,
        },
        &[],
    )
    .unwrap()
    .render(&data())
    .unwrap()
}

#[test]
fn go_template_syntax_as_kratos_templates_use_it() {
    for (src, want) in [
        ("{{ .Identity.traits.email }}", "ada@example.com"),
        ("{{ .RecoveryCode }}", "123456"),
        (
            r#"{{ if eq .lang "x" }}x{{ else if eq .lang "en_US" }}en{{ else }}?{{ end }}"#,
            "en",
        ),
        (
            r#"{{ define "hi" }}Hi {{ . }}{{ end }}{{ template "hi" .To }}"#,
            "Hi ada@example.com",
        ),
        (
            r#"{{ block "b" . }}[{{ .RecoveryCode }}]{{ end }}"#,
            "[123456]",
        ),
        (
            "a  {{- .RecoveryCode -}}  b\n{{- /* note */ -}}\nc",
            "a123456bc",
        ),
        (r#"{{ .To | upper | printf "%s!" }}"#, "ADA@EXAMPLE.COM!"),
        (
            "{{ range $k, $v := .Identity.traits }}{{ $k }};{{ end }}",
            "email;name;",
        ),
        ("{{ range .Items }}{{ . }}{{ else }}none{{ end }}", "123"),
        ("{{ with .Identity }}{{ .id }}{{ end }}", "9f"),
        (
            "{{ $x := .To }}{{ $x = upper $x }}{{ $x }}",
            "ADA@EXAMPLE.COM",
        ),
        (
            r#"{{ len .RecoveryCode }} {{ index .Identity.traits "email" }}"#,
            "6 ada@example.com",
        ),
        ("{{ if gt .ExpiresInMinutes 10 }}long{{ end }}", "long"),
        ("{{ .ExpiresInMinutes }}", "15"),
        ("[{{ .Missing }}]", "[<no value>]"),
    ] {
        assert_eq!(text(src), want, "{src}");
    }
}

#[test]
fn sprig_functions() {
    for (src, want) in [
        (
            r#"{{ .Missing | default "there" }} {{ .To | default "x" }}"#,
            "there ada@example.com",
        ),
        (r#"[{{ "  x  " | trim }}]"#, "[x]"),
        (
            "{{ toJson .TransientPayload }}",
            r#"{"k":"v\u003c\u0026\u003e"}"#,
        ),
        (r#"{{ "hello world" | title | nospace }}"#, "HelloWorld"),
        (r#"{{ cat "a" .Missing "b" }}"#, "a b"),
        (
            r#"{{ "abc" | replace "b" "x" }} {{ "abc" | contains "b" }}"#,
            "axc true",
        ),
        (
            r#"{{ "abcdef" | trunc 3 }} {{ "abcdef" | trimPrefix "ab" | trimSuffix "ef" }}"#,
            "abc cd",
        ),
        (
            r#"{{ .Empty | empty }} {{ coalesce .Empty .Missing "z" }}"#,
            "true z",
        ),
        (
            r#"{{ list 1 2 3 | join "-" }} {{ "a,b" | splitList "," | last }}"#,
            "1-2-3 b",
        ),
        (
            r#"{{ $d := dict "k" "v" }}{{ get $d "k" }} {{ hasKey $d "x" }}"#,
            "v false",
        ),
        (
            "{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }}",
            "6 3 6 3 1",
        ),
        (
            r#"{{ "hi" | b64enc }} {{ "aGk=" | b64dec }} {{ "x" | quote }}"#,
            r#"aGk= hi "x""#,
        ),
        (
            r#"{{ ternary "y" "n" true }} {{ "Ab" | lower }} {{ "x" | repeat 3 }}"#,
            "y ab xxx",
        ),
    ] {
        assert_eq!(text(src), want, "{src}");
    }
}

#[test]
fn html_bodies_escape_data_for_its_context() {
    let out = html(
        r#"<p title="{{ .Identity.traits.name }}">{{ .Identity.traits.name }}</p><a href="{{ .VerificationURL }}">go</a>"#,
    );
    assert_eq!(
        out,
        "<p title=\"&lt;b&gt;Ada&lt;/b&gt;\">&lt;b&gt;Ada&lt;/b&gt;</p>\
         <a href=\"https://id.example/v?token=%22%3e%3cscript%3ealert%281%29%3c/script%3e\">go</a>"
    );
    let mut d = data();
    d["VerificationURL"] = json!("javascript:alert(1)");
    let t = parse(
        Kind::Html,
        File {
            name: "t",
            text: r#"<a href="{{ .VerificationURL }}">x</a>"#,
        },
        &[],
    )
    .unwrap();
    assert_eq!(t.render(&d).unwrap(), r##"<a href="#ZgotmplZ">x</a>"##);
    // Text templates write data as it is.
    assert_eq!(text("{{ .Identity.traits.name }}"), "<b>Ada</b>");
}

#[test]
fn other_files_of_a_set_provide_templates() {
    let main = File {
        name: "email.body.gotmpl",
        text: r#"{{- if eq .lang "en_US" -}}{{ template "email.body.en_US.gotmpl" . }}{{ template "sig" }}{{- end -}}"#,
    };
    let other = File {
        name: "email.body.en_US.gotmpl",
        text: r#"Hello {{ .To }}{{ define "sig" }} - the team{{ end }}"#,
    };
    let t = parse(Kind::Html, main, &[other]).unwrap();
    assert_eq!(
        t.render(&data()).unwrap(),
        "Hello ada@example.com - the team"
    );
}

#[test]
fn invalid_templates_name_the_line() {
    for (src, line) in [
        ("line one\n{{ .To ", Some(2)),
        ("a\nb\n{{ if .To }}open", Some(3)),
        ("{{ end }}", Some(1)),
        ("ok\n{{ nosuchfunc .To }}", Some(2)),
    ] {
        let e = parse(
            Kind::Text,
            File {
                name: "email.subject.gotmpl",
                text: src,
            },
            &[],
        )
        .err()
        .unwrap_or_else(|| panic!("{src} parsed"));
        assert_eq!(e.file, "email.subject.gotmpl");
        assert_eq!(e.line, line, "{src}: {e}");
    }
    // An HTML body that cannot be escaped is refused when parsed, not when sent.
    let e = parse(
        Kind::Html,
        File {
            name: "b",
            text: "<a href=\"{{ .To }}",
        },
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("b"), "{e}");
}

#[test]
fn hostile_templates_are_refused_or_bounded() {
    // 10,000 nested ifs: refused by the parser's nesting limit.
    let deep = "{{ if true }}".repeat(10_000) + &"{{ end }}".repeat(10_000);
    assert!(
        parse(
            Kind::Text,
            File {
                name: "t",
                text: &deep
            },
            &[]
        )
        .is_err()
    );
    // Recursion, direct or through another template: refused.
    for src in [
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
        r#"{{ define "a" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "a" }}{{ end }}{{ template "a" }}"#,
    ] {
        let e = parse(
            Kind::Text,
            File {
                name: "t",
                text: src,
            },
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("calls itself"), "{e}");
    }
    // Exponential fan-out without output or loops: refused statically.
    let mut src = String::from(r#"{{ define "t0" }}{{ if true }}{{ end }}{{ end }}"#);
    for i in 1..30 {
        src += &format!(
            r#"{{{{ define "t{i}" }}}}{{{{ template "t{p}" }}}}{{{{ template "t{p}" }}}}{{{{ end }}}}"#,
            p = i - 1
        );
    }
    src += r#"{{ template "t29" }}"#;
    let e = parse(
        Kind::Text,
        File {
            name: "t",
            text: &src,
        },
        &[],
    )
    .unwrap_err();
    assert!(e.message.contains("too large"), "{e}");
    // Huge output: the render stops at the cap.
    let started = std::time::Instant::now();
    let t = parse(Kind::Text, File { name: "t", text: "{{ range 1000000000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}" }, &[]).unwrap();
    let e = t.render(&data()).unwrap_err();
    assert!(
        matches!(e, RenderError::TooLarge(_) | RenderError::Failed(_)),
        "{e}"
    );
    // A loop that writes nothing: the iteration budget ends it.
    let t = parse(
        Kind::Text,
        File {
            name: "t",
            text: "{{ range 1000000000 }}{{ end }}",
        },
        &[],
    )
    .unwrap();
    assert!(t.render(&data()).is_err());
    let t = parse(
        Kind::Text,
        File {
            name: "t",
            text: r#"{{ "x" | repeat 100000000 }}"#,
        },
        &[],
    )
    .unwrap();
    assert!(t.render(&data()).is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Templates calling each other, each nested as deep as the parser allows: refused
    // without exhausting a small stack (2 MiB, a runtime worker's).
    let mut src = String::new();
    for i in 0..50 {
        src += &format!(r#"{{{{ define "d{i}" }}}}"#);
        src += &"{{ if true }}".repeat(90);
        src += &format!(r#"{{{{ template "d{}" }}}}"#, i + 1);
        src += &"{{ end }}".repeat(90);
        src += "{{ end }}";
    }
    src += r#"{{ define "d50" }}x{{ end }}{{ template "d0" }}"#;
    let refused = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            parse(
                Kind::Html,
                File {
                    name: "t",
                    text: &src,
                },
                &[],
            )
            .map(|_| ())
        })
        .unwrap()
        .join()
        .unwrap();
    let e = refused.unwrap_err();
    assert!(e.message.contains("nest more than"), "{e}");
    // Deeply nested parentheses in one action: refused, not a stack overflow.
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
    let refused = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || check(Kind::Text, "t", &parens))
        .unwrap()
        .join()
        .unwrap();
    assert!(refused.is_err());
    // Oversized sources are refused before parsing.
    let big = "x".repeat(LIMITS.source_bytes + 1);
    assert!(check(Kind::Text, "big", &big).is_err());
}
