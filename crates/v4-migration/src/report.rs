//! The migration report, as Markdown for a person and JSON for a program, and the rejects
//! file: every rejected row, whole, with where it came from and why.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Report;

/// The three files written for a report at `markdown` (`report.md`): `report.json` and
/// `report.rejects.csv` beside it.
pub fn write_all(report: &Report, markdown: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let json = markdown.with_extension("json");
    let rejects = markdown.with_extension("rejects.csv");
    if let Some(dir) = markdown.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(markdown, to_markdown(report))?;
    std::fs::write(
        &json,
        serde_json::to_string_pretty(report).unwrap_or_default(),
    )?;
    let mut writer = csv::Writer::from_path(&rejects)?;
    writer.write_record(["file", "line", "column", "reason", "row"])?;
    for t in &report.tables {
        for r in &t.rejections {
            writer.write_record([
                r.file.as_str(),
                &r.line.to_string(),
                &r.column,
                &r.reason,
                &r.raw.join(" | "),
            ])?;
        }
    }
    writer.flush()?;
    Ok((json, rejects))
}

pub fn to_markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# V4 → V5 migration report\n");
    let _ = writeln!(md, "- Source: `{}`", report.source.display());
    let _ = writeln!(md, "- Database: `{}`", report.database.display());
    let _ = writeln!(
        md,
        "- Mode: {}",
        if report.dry_run {
            "dry run (nothing was written)"
        } else {
            "import"
        }
    );
    let _ = writeln!(
        md,
        "- Result: {}\n",
        if report.changed() {
            "the database was changed"
        } else {
            "nothing changed (already imported)"
        }
    );
    let _ = writeln!(
        md,
        "| table | file | encoding | read | imported | updated | unchanged | rejected |"
    );
    let _ = writeln!(md, "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for t in &report.tables {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            t.table,
            t.file.as_deref().unwrap_or("(absent)"),
            t.encoding.as_deref().unwrap_or(""),
            t.read,
            t.imported,
            t.updated,
            t.unchanged,
            t.rejected
        );
    }
    let _ = writeln!(md, "\n## Validation\n");
    for v in &report.validation {
        let _ = writeln!(
            md,
            "- {} **{}**: {}",
            if v.ok { "✅" } else { "❌" },
            v.check,
            v.detail
        );
    }
    let dropped: Vec<_> = report
        .tables
        .iter()
        .flat_map(|t| t.dropped_columns.iter().map(move |d| (t, d)))
        .collect();
    if !dropped.is_empty() {
        let _ = writeln!(md, "\n## Columns not imported\n");
        let _ = writeln!(md, "| file | column | why |");
        let _ = writeln!(md, "| --- | --- | --- |");
        for (t, d) in dropped {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                t.file.as_deref().unwrap_or(&t.table),
                d.column,
                d.reason.replace('|', "\\|")
            );
        }
    }
    let absent: Vec<_> = report
        .tables
        .iter()
        .filter(|t| t.file.is_some() && !t.absent_columns.is_empty())
        .collect();
    if !absent.is_empty() {
        let _ = writeln!(md, "\n## Columns the files do not carry\n");
        let _ = writeln!(
            md,
            "Left as they were on rows that already existed; new rows got the column's default.\n"
        );
        for t in absent {
            let _ = writeln!(md, "- {}: {}", t.table, t.absent_columns.join(", "));
        }
    }
    let warnings: Vec<_> = report.tables.iter().flat_map(|t| &t.warnings).collect();
    if !warnings.is_empty() {
        let _ = writeln!(
            md,
            "\n## Rows stored with a value left out ({})\n",
            warnings.len()
        );
        let _ = writeln!(md, "| file | line | column | reason |");
        let _ = writeln!(md, "| --- | ---: | --- | --- |");
        for r in warnings {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.file,
                r.line,
                r.column,
                r.reason.replace('|', "\\|")
            );
        }
    }
    let rejected: Vec<_> = report.tables.iter().flat_map(|t| &t.rejections).collect();
    if !rejected.is_empty() {
        let _ = writeln!(md, "\n## Rejected rows ({})\n", rejected.len());
        let _ = writeln!(
            md,
            "Every rejected row is also in the rejects file, whole.\n"
        );
        let _ = writeln!(md, "| file | line | column | reason |");
        let _ = writeln!(md, "| --- | ---: | --- | --- |");
        for r in rejected {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.file,
                r.line,
                r.column,
                r.reason.replace('|', "\\|")
            );
        }
    }
    md
}
