//! The HTML report in a real browser: headless Chromium renders the report of
//! a failing scenario with no console message, and the screenshot shows the
//! verdict first and a ladder diagram with ink in it. The page must also be
//! self-contained (no script, no external resource).
//!
//! Skipped (with a printed reason) when `chromium` is not installed; CI
//! installs it. The screenshot stays in the target directory
//! (`html-render/report.png`) for a person to look at.

mod common;

use std::time::Duration;

use common::{analyze, available, read, run_for, work_dir};

/// Colours only the ladder draws in quantity: request blue and error orange.
const REQUEST: [u8; 3] = [0x1d, 0x4e, 0xd8];
const ERROR: [u8; 3] = [0xc2, 0x41, 0x0c];
/// The background of an error verdict.
const VERDICT_ERROR: [u8; 3] = [0xfe, 0xf2, 0xf2];

fn near(p: &[u8], c: [u8; 3], tolerance: i16) -> bool {
    p.iter()
        .zip(c)
        .all(|(&a, b)| (i16::from(a) - i16::from(b)).abs() <= tolerance)
}

struct Image {
    width: usize,
    height: usize,
    /// RGB, row-major.
    rgb: Vec<u8>,
}

fn decode_png(path: &std::path::Path) -> Image {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let row = &buf[y * info.line_size..y * info.line_size + width * channels];
        for px in row.chunks_exact(channels) {
            match channels {
                1 | 2 => rgb.extend_from_slice(&[px[0]; 3]),
                _ => rgb.extend_from_slice(&px[..3]),
            }
        }
    }
    Image { width, height, rgb }
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let dir = work_dir("html-render");
    let html = dir.join("report.html");
    let out = analyze(
        "wrong-next-hop",
        &["--format", "html", "-o", html.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let page = read(&html);

    // Self-contained: nothing to fetch, nothing to run.
    for needle in ["<script", "<link", "@import", "src=", "<iframe", "<object"] {
        assert!(!page.contains(needle), "the page holds {needle}");
    }
    let external = page
        .match_indices("http")
        .filter(|(i, _)| !page[*i..].starts_with("http://www.w3.org/2000/svg"))
        .count();
    assert_eq!(external, 0, "the page refers to another resource");
    assert!(page.contains("<svg") && page.contains("Where the packets went"));
    let verdict = page.find("id=\"verdict\"").unwrap();
    let ladder = page.find("<svg").unwrap();
    let findings = page.find("id=\"findings\"").unwrap();
    assert!(
        verdict < ladder && ladder < findings,
        "verdict, ladder, findings in order"
    );

    if !available("chromium") {
        println!("SKIP: chromium not installed");
        return;
    }
    let shot = dir.join("report.png");
    let out = run_for(
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1280,2000",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", html.display())),
        Duration::from_secs(180),
    );
    let _ = std::fs::remove_dir_all(dir.join("profile"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    assert!(shot.exists(), "no screenshot; chromium said:\n{stderr}");

    let img = decode_png(&shot);
    assert_eq!((img.width, img.height), (1280, 2000));
    let pixels: Vec<&[u8]> = img.rgb.chunks_exact(3).collect();
    let inked = pixels.iter().filter(|p| !near(p, [255; 3], 8)).count();
    assert!(
        inked * 100 > pixels.len() * 5,
        "the page is nearly blank: {inked} of {} pixels",
        pixels.len()
    );

    // The diagram: request and error ink spread over a region of the page.
    let (mut top, mut bottom, mut left, mut right) = (usize::MAX, 0, usize::MAX, 0);
    let (mut blue, mut orange) = (0usize, 0usize);
    for (i, p) in pixels.iter().enumerate() {
        let is_blue = near(p, REQUEST, 28);
        let is_orange = near(p, ERROR, 28);
        if is_blue || is_orange {
            blue += usize::from(is_blue);
            orange += usize::from(is_orange);
            let (x, y) = (i % img.width, i / img.width);
            top = top.min(y);
            bottom = bottom.max(y);
            left = left.min(x);
            right = right.max(x);
        }
    }
    assert!(blue > 400, "request arrows missing ({blue} pixels)");
    assert!(orange > 400, "error arrows missing ({orange} pixels)");
    assert!(
        bottom - top > 150 && right - left > 200,
        "the diagram is too small: {left},{top} to {right},{bottom}"
    );
    let region_ink = (top..=bottom)
        .flat_map(|y| (left..=right).map(move |x| (x, y)))
        .filter(|&(x, y)| !near(pixels[y * img.width + x], [255; 3], 8))
        .count();
    let area = (bottom - top + 1) * (right - left + 1);
    assert!(
        region_ink * 100 > area * 3,
        "the diagram region has little ink: {region_ink} of {area}"
    );
    // The verdict comes first: its band is above the diagram.
    let verdict_row = pixels
        .iter()
        .position(|p| near(p, VERDICT_ERROR, 2))
        .map(|i| i / img.width)
        .expect("no verdict band");
    assert!(
        verdict_row < top,
        "verdict at {verdict_row}, diagram at {top}"
    );
    println!("screenshot: {}", shot.display());
}
