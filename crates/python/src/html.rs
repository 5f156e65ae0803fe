//! Small HTML tables for notebooks: Jupyter shows an object's `_repr_html_()` instead of its
//! `repr()`, so a block, a chain or a verification reads as a table.
//!
//! Every value is escaped: records are arbitrary user data, and a record holding `<script>` must
//! show as text, not run.

/// Escapes text for an HTML element's content or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a caption, a header row and body rows; cells are plain text, escaped when
/// rendered. A row can be marked (shown in red), as the first invalid block of a chain is.
#[derive(Debug, Default)]
pub struct Table {
    caption: String,
    columns: Vec<String>,
    rows: Vec<(Vec<String>, bool)>,
}

impl Table {
    /// Starts a table with a caption and column names.
    pub fn new(caption: impl Into<String>, columns: &[&str]) -> Self {
        Self {
            caption: caption.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// A two-column table of fields and values.
    pub fn fields(caption: impl Into<String>, fields: &[(&str, String)]) -> Self {
        let mut table = Self::new(caption, &["field", "value"]);
        for (name, value) in fields {
            table.row(vec![(*name).to_owned(), value.clone()], false);
        }
        table
    }

    /// Adds a row; `marked` highlights it.
    pub fn row(&mut self, cells: Vec<String>, marked: bool) {
        self.rows.push((cells, marked));
    }

    /// Renders the table.
    pub fn render(&self) -> String {
        let mut out = String::from("<table>");
        out.push_str(&format!(
            "<caption style=\"text-align:left\">{}</caption><thead><tr>",
            escape(&self.caption)
        ));
        for column in &self.columns {
            out.push_str(&format!(
                "<th style=\"text-align:left\">{}</th>",
                escape(column)
            ));
        }
        out.push_str("</tr></thead><tbody>");
        for (cells, marked) in &self.rows {
            if *marked {
                out.push_str("<tr style=\"color:#b00020;font-weight:bold\">");
            } else {
                out.push_str("<tr>");
            }
            for cell in cells {
                out.push_str(&format!(
                    "<td style=\"text-align:left;font-family:monospace\">{}</td>",
                    escape(cell)
                ));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
        out
    }
}

/// Shortens a long text for a table cell or a repr: the first `keep` characters and an ellipsis.
pub fn shorten(text: &str, keep: usize) -> String {
    if text.chars().count() <= keep {
        text.to_owned()
    } else {
        let head: String = text.chars().take(keep).collect();
        format!("{head}…")
    }
}
