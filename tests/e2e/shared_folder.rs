use crate::util::*;

#[test]
fn g_the_shared_folder_route_delivers_and_records_results() {
    let mut w = World::new();
    w.route = Route::SharedFolder;
    w.start_sim("", false);
    w.start_agent();
    for i in 0..5 {
        w.drop_file(&format!("in-{i}.json"), &condition_input(i));
    }
    wait_until(60, "all accepted via the terminal", || {
        w.accepted_files() == 5
    });
    // `status` polls in a loop here while the agent commits: a regression test for the lost
    // WAL (a second descriptor on the database dropped the agent's POSIX locks, and a `status`
    // process then removed the WAL holding the agent's commits).
    wait_until(30, "results recorded", || {
        w.status()["outbox"]
            .to_string()
            .contains("[\"delivered\",5]")
    });
    wait_until(30, "result files removed after commit", || {
        w.files_in("terminal/res") == 0
    });
    w.stop_agent();
    w.assert_log_has_no(&[SECRET_FAMILY, SECRET_GIVEN, SECRET_BIRTH]);
}
