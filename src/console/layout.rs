//! Where everything goes on the screen: one pure function of the terminal size and the
//! screen shown, used by the views to draw and by the state to know page sizes and what a
//! mouse click hit.

use ratatui::layout::{Position, Rect};

/// Below this the console says so instead of drawing (SPEC §9).
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// From this width the threads pane sits beside the tasks table instead of above it.
const SIDE_BY_SIDE_WIDTH: u16 = 150;
const THREADS_WIDTH: u16 = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Screen {
    Main,
    Detail,
    Timeline,
    Schedules,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Regions {
    pub area: Rect,
    pub too_small: bool,
    pub header: Rect,
    pub status: Rect,
    pub threads: Rect,
    pub tasks: Rect,
    pub log: Rect,
    pub detail: Rect,
    pub timeline: Rect,
    pub schedules: Rect,
}

impl Regions {
    /// Rows of data a bordered table with a header row shows in `r`.
    pub fn table_rows(r: Rect) -> usize {
        usize::from(r.height.saturating_sub(3))
    }

    /// Rows inside a bordered block.
    pub fn inner_rows(r: Rect) -> usize {
        usize::from(r.height.saturating_sub(2))
    }

    pub fn hit(r: Rect, x: u16, y: u16) -> bool {
        r.contains(Position { x, y })
    }
}

pub fn compute(width: u16, height: u16, screen: Screen) -> Regions {
    let area = Rect::new(0, 0, width, height);
    let mut r = Regions {
        area,
        ..Regions::default()
    };
    if width < MIN_WIDTH || height < MIN_HEIGHT {
        r.too_small = true;
        return r;
    }
    r.header = Rect::new(0, 0, width, 2);
    r.status = Rect::new(0, height - 1, width, 1);
    let body = Rect::new(0, 2, width, height - 3);
    if screen == Screen::Detail {
        r.detail = body;
        return r;
    }
    let log_h = (body.height * 3 / 10).max(5);
    let top = Rect::new(0, body.y, width, body.height - log_h);
    r.log = Rect::new(0, top.y + top.height, width, log_h);
    if screen == Screen::Timeline {
        r.timeline = top;
        return r;
    }
    if screen == Screen::Schedules {
        r.schedules = top;
        return r;
    }
    if width >= SIDE_BY_SIDE_WIDTH {
        r.threads = Rect::new(0, top.y, THREADS_WIDTH, top.height);
        r.tasks = Rect::new(THREADS_WIDTH, top.y, width - THREADS_WIDTH, top.height);
    } else {
        let th = (top.height / 3).clamp(5, 10);
        r.threads = Rect::new(0, top.y, width, th);
        r.tasks = Rect::new(0, top.y + th, width, top.height - th);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_tile_the_screen() {
        for (w, h) in [(80, 24), (120, 40), (200, 50), (300, 90)] {
            let r = compute(w, h, Screen::Main);
            assert!(!r.too_small);
            let rows = r.header.height + r.status.height + r.log.height;
            let mid = if r.threads.x == r.tasks.x {
                r.threads.height + r.tasks.height
            } else {
                r.tasks.height
            };
            assert_eq!(rows + mid, h, "{w}x{h}");
            assert!(Regions::table_rows(r.tasks) >= 5, "{w}x{h}");
        }
        assert!(compute(79, 24, Screen::Main).too_small);
        assert!(compute(80, 23, Screen::Main).too_small);
    }
}
