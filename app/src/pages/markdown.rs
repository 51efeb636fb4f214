//! Agents write Markdown. This renders the part of it they use (headings,
//! bullet and numbered lists, fenced code, inline `code` and **bold**,
//! paragraphs) as views: text only ever becomes text nodes, never HTML, so
//! nothing an agent writes can inject markup. Anything else shows as written.

use leptos::prelude::*;

/// A block of an agent's answer.
#[derive(Debug, PartialEq)]
enum Block {
    Heading(String),
    List { ordered: bool, items: Vec<String> },
    Code(String),
    Paragraph(String),
}

/// A list item's text and whether the list is numbered, if `line` is one.
fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, rest));
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| line[digits..].strip_prefix(". ")).flatten().map(|rest| (true, rest))
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with("```") {
            let mut code = Vec::new();
            for line in lines.by_ref() {
                if line.trim_start().starts_with("```") {
                    break;
                }
                code.push(line);
            }
            blocks.push(Block::Code(code.join("\n")));
        } else if let Some(heading) = trimmed.strip_prefix('#').map(|h| h.trim_start_matches('#').trim()) {
            blocks.push(Block::Heading(heading.to_owned()));
        } else if let Some((ordered, first)) = list_item(trimmed) {
            let mut items = vec![first.to_owned()];
            while let Some(next) = lines.peek().map(|l| l.trim()) {
                match list_item(next) {
                    Some((same, item)) if same == ordered => items.push(item.to_owned()),
                    // A wrapped item continues on an indented line.
                    None if !next.is_empty() && !next.starts_with('#') && !next.starts_with("```") => {
                        if let Some(last) = items.last_mut() {
                            last.push(' ');
                            last.push_str(next);
                        }
                    }
                    _ => break,
                }
                lines.next();
            }
            blocks.push(Block::List { ordered, items });
        } else {
            let mut paragraph = trimmed.to_owned();
            while let Some(next) = lines.peek().map(|l| l.trim()) {
                if next.is_empty() || next.starts_with('#') || next.starts_with("```") || list_item(next).is_some() {
                    break;
                }
                paragraph.push('\n');
                paragraph.push_str(next);
                lines.next();
            }
            blocks.push(Block::Paragraph(paragraph));
        }
    }
    blocks
}

/// Inline `code` and **bold** within a line; the rest is plain text.
fn inline(text: &str) -> AnyView {
    text.split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                view! { <code>{part.to_owned()}</code> }.into_any()
            } else {
                part.split("**")
                    .enumerate()
                    .map(|(index, piece)| {
                        if index % 2 == 1 {
                            view! { <strong>{piece.to_owned()}</strong> }.into_any()
                        } else {
                            piece.to_owned().into_any()
                        }
                    })
                    .collect_view()
                    .into_any()
            }
        })
        .collect_view()
        .into_any()
}

/// An agent's text, rendered.
#[component]
pub fn Markdown(text: String) -> impl IntoView {
    let views = blocks(&text)
        .into_iter()
        .map(|block| match block {
            Block::Heading(text) => view! { <h4>{inline(&text)}</h4> }.into_any(),
            Block::List { ordered: false, items } => {
                view! { <ul>{items.iter().map(|i| view! { <li>{inline(i)}</li> }).collect_view()}</ul> }.into_any()
            }
            Block::List { ordered: true, items } => {
                view! { <ol>{items.iter().map(|i| view! { <li>{inline(i)}</li> }).collect_view()}</ol> }.into_any()
            }
            Block::Code(code) => view! { <pre class="output"><code>{code}</code></pre> }.into_any(),
            Block::Paragraph(text) => view! { <p class="prewrap">{inline(&text)}</p> }.into_any(),
        })
        .collect_view();
    view! { <div class="markdown">{views}</div> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_markdown_becomes_blocks() {
        let text = "Disk is full.\n\n### Next checks\n\n- `df -h`: space\n  per filesystem\n- `df -i`\n\n1. first\n2. second\n\n```\n$ df -h\n/dev/sda1 100%\n```\n<b>not html</b>";
        assert_eq!(
            blocks(text),
            vec![
                Block::Paragraph("Disk is full.".into()),
                Block::Heading("Next checks".into()),
                Block::List { ordered: false, items: vec!["`df -h`: space per filesystem".into(), "`df -i`".into()] },
                Block::List { ordered: true, items: vec!["first".into(), "second".into()] },
                Block::Code("$ df -h\n/dev/sda1 100%".into()),
                Block::Paragraph("<b>not html</b>".into()),
            ]
        );
    }
}
