//! Per-instance labels: `#[memscope::track(label = …)]` shows a value (a peer address,
//! a query id) beside the task's name in the snapshot and the reports, and groups by the
//! name alone, so a label per connection creates no group per connection.

use memscope::{snapshot, ReportFormat};

#[memscope::track(task_type = "network", label = peer)]
async fn connection(peer: u16, request: Vec<u8>) -> (u64, usize) {
    (memscope::current_task_id().unwrap().as_u64(), request.len())
}

#[test]
fn labels_show_beside_the_name_and_make_no_group() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ids: Vec<u64> = rt.block_on(async {
        let mut ids = Vec::new();
        for peer in [51000u16, 51001, 51002] {
            ids.push(connection(peer, vec![0; 8]).await.0);
        }
        ids
    });
    let snap = snapshot();
    for (id, peer) in ids.iter().zip([51000, 51001, 51002]) {
        let t = snap.task(memscope::TaskId::from_u64(*id)).unwrap();
        assert_eq!(t.label.as_deref(), Some(peer.to_string().as_str()));
        assert_eq!(t.display_name(), format!("{} [{peer}]", t.name));
    }
    let groups: Vec<_> = snap
        .groups
        .iter()
        .filter(|g| g.name.ends_with("::connection"))
        .collect();
    assert_eq!(groups.len(), 1, "one group for all labels");
    assert_eq!(groups[0].task_count, 3);
    let mut text = Vec::new();
    snap.write_to(&mut text, ReportFormat::Text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("connection [51000]"), "{text}");
    let mut json = Vec::new();
    snap.write_to(&mut json, ReportFormat::Json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let labels: Vec<_> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["label"].as_str())
        .collect();
    assert!(labels.contains(&"51001"), "{labels:?}");
}
