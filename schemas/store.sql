-- ftreplay store DDL, schema version 1. Generated: do not edit.
CREATE TABLE IF NOT EXISTS ftreplay_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    scenario VARCHAR NOT NULL,
    seed BIGINT,
    strategy VARCHAR,
    config JSON,
    bugs VARCHAR[],
    status VARCHAR,
    failure_reason VARCHAR,
    failure_message VARCHAR,
    failure_seq BIGINT,
    events BIGINT,
    hash VARCHAR,
    schedule VARCHAR,
    created TIMESTAMP,
    ftreplay_version VARCHAR,
    schema_version INTEGER,
    log_path VARCHAR,
    steps BIGINT,
    virtual_ns BIGINT,
    recovery VARCHAR
);
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS checkpoints (run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS derive_pending (run_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS thread_state_intervals (
    run_id VARCHAR NOT NULL,
    thread BIGINT,
    state VARCHAR,
    start_seq BIGINT,
    end_seq BIGINT,
    start_ts BIGINT,
    end_ts BIGINT
);
CREATE TABLE IF NOT EXISTS park_intervals (
    run_id VARCHAR NOT NULL,
    thread BIGINT,
    addr BIGINT,
    start_seq BIGINT,
    end_seq BIGINT,
    start_ts BIGINT,
    end_ts BIGINT,
    result VARCHAR
);
CREATE TABLE IF NOT EXISTS lock_holds (
    run_id VARCHAR NOT NULL,
    mutex BIGINT,
    tid BIGINT,
    acquire_seq BIGINT,
    release_seq BIGINT,
    wait_ns BIGINT,
    hold_ns BIGINT,
    via VARCHAR
);
CREATE TABLE IF NOT EXISTS object_lifetimes (
    run_id VARCHAR NOT NULL,
    obj BIGINT,
    type VARCHAR,
    size BIGINT,
    gc BOOLEAN,
    block BIGINT,
    creator_tid BIGINT,
    new_seq BIGINT,
    new_ts BIGINT,
    dealloc_seq BIGINT,
    dealloc_ts BIGINT,
    dealloc_tid BIGINT,
    increfs BIGINT,
    decrefs BIGINT,
    shared_ops BIGINT,
    first_shared_seq BIGINT,
    disown_seq BIGINT,
    queued_seq BIGINT,
    queued_to BIGINT,
    merged_seq BIGINT,
    try_increfs_failed BIGINT,
    block_freed_seq BIGINT,
    block_reused_seq BIGINT,
    block_reused_by BIGINT
);
CREATE TABLE IF NOT EXISTS refcount_history (
    run_id VARCHAR NOT NULL,
    obj BIGINT,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    kind VARCHAR,
    path VARCHAR,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    refcnt BIGINT,
    shared_count BIGINT,
    flags BIGINT
);
CREATE TABLE IF NOT EXISTS stw_pauses (
    run_id VARCHAR NOT NULL,
    scope VARCHAR,
    requester BIGINT,
    request_seq BIGINT,
    request_ts BIGINT,
    stopped_seq BIGINT,
    stopped_ts BIGINT,
    start_seq BIGINT,
    start_ts BIGINT,
    threads_suspended BIGINT,
    time_to_stop_ns BIGINT,
    pause_ns BIGINT
);
CREATE TABLE IF NOT EXISTS gc_collections (
    run_id VARCHAR NOT NULL,
    start_seq BIGINT,
    start_ts BIGINT,
    end_seq BIGINT,
    end_ts BIGINT,
    reason VARCHAR,
    requester BIGINT,
    collected BIGINT,
    uncollectable BIGINT,
    pauses BIGINT,
    paused_ns BIGINT,
    objects_visited BIGINT,
    unreachable BIGINT,
    duration_ns BIGINT
);
CREATE TABLE IF NOT EXISTS raw.run_failure (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    reason VARCHAR,
    message VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.lock_acquire (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    mutex BIGINT,
    via VARCHAR,
    bits_old BIGINT,
    bits_new BIGINT,
    wait_ns BIGINT
);
CREATE TABLE IF NOT EXISTS raw.lock_release (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    mutex BIGINT,
    via VARCHAR,
    handoff_to BIGINT,
    bits_old BIGINT,
    bits_new BIGINT
);
CREATE TABLE IF NOT EXISTS raw.lock_set_parked (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    mutex BIGINT,
    bits_old BIGINT,
    bits_new BIGINT
);
CREATE TABLE IF NOT EXISTS raw.lock_fail (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    mutex BIGINT,
    reason VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.parking_lot_park (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    detach BOOLEAN,
    timeout_ns BIGINT,
    bucket BIGINT,
    expected BIGINT,
    qlen BIGINT
);
CREATE TABLE IF NOT EXISTS raw.parking_lot_unpark (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    woken BIGINT,
    has_more BOOLEAN,
    bucket BIGINT,
    mode VARCHAR,
    pos BIGINT
);
CREATE TABLE IF NOT EXISTS raw.parking_lot_wake (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    result VARCHAR,
    timed_out BOOLEAN,
    pos BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_attach (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    old VARCHAR,
    new VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pystate_detach (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    old VARCHAR,
    new VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pystate_suspend (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    old VARCHAR,
    new VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pystate_new_thread (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    interp BIGINT,
    new VARCHAR,
    process BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_delete_thread (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    interp BIGINT
);
CREATE TABLE IF NOT EXISTS raw.thread_start (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.thread_exit (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.thread_join (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.lock_word (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    prim VARCHAR,
    op VARCHAR,
    bits_old BIGINT,
    bits_new BIGINT
);
CREATE TABLE IF NOT EXISTS raw.lock_seq_read (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    seq_value BIGINT,
    ok BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.lock_recursive (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    mutex BIGINT,
    op VARCHAR,
    level BIGINT,
    owner BIGINT
);
CREATE TABLE IF NOT EXISTS raw.guest_load (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    value BIGINT
);
CREATE TABLE IF NOT EXISTS raw.guest_store (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    value BIGINT,
    prev BIGINT
);
CREATE TABLE IF NOT EXISTS raw.run_label (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    addr BIGINT,
    label VARCHAR,
    label_old VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.object_new (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    type VARCHAR,
    size BIGINT,
    gc BOOLEAN,
    block BIGINT,
    ob_tid BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_incref (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    path VARCHAR,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    refcnt BIGINT,
    ob_ref_local_old BIGINT,
    ob_ref_shared_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_decref (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    path VARCHAR,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    refcnt BIGINT,
    ob_ref_local_old BIGINT,
    ob_ref_shared_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_disown (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    path VARCHAR,
    ob_tid BIGINT,
    ob_ref_local BIGINT,
    ob_tid_old BIGINT,
    ob_ref_local_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_merge (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    path VARCHAR,
    extra BIGINT,
    refcnt BIGINT,
    ob_ref_shared BIGINT,
    ob_ref_shared_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_dealloc (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    type VARCHAR,
    size BIGINT,
    gc BOOLEAN,
    block BIGINT,
    ob_tid BIGINT,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    ob_gc_bits BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_try_incref (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    path VARCHAR,
    ok BOOLEAN,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    refcnt BIGINT,
    ob_ref_local_old BIGINT,
    ob_ref_shared_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_set_maybe_weakref (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    ob_ref_shared BIGINT,
    ob_ref_shared_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.object_set_immortal (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    ob_tid BIGINT,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    ob_gc_bits BIGINT,
    ob_tid_old BIGINT,
    ob_ref_local_old BIGINT,
    ob_ref_shared_old BIGINT,
    ob_gc_bits_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.brc_init_thread (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    bucket BIGINT
);
CREATE TABLE IF NOT EXISTS raw.brc_remove_thread (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    bucket BIGINT
);
CREATE TABLE IF NOT EXISTS raw.brc_queue (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    owner BIGINT,
    bucket BIGINT
);
CREATE TABLE IF NOT EXISTS raw.brc_merge_batch (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    count BIGINT
);
CREATE TABLE IF NOT EXISTS raw.brc_merge (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    owner BIGINT,
    refcnt BIGINT
);
CREATE TABLE IF NOT EXISTS raw.ceval_gil_eval_breaker (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    eval_bit BIGINT,
    op VARCHAR,
    bits_old BIGINT,
    bits_new BIGINT
);
CREATE TABLE IF NOT EXISTS raw.critical_section_begin (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    cs BIGINT,
    depth BIGINT,
    cs_tag BIGINT,
    cs_mutex BIGINT,
    cs_mutex2 BIGINT,
    path VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.critical_section_locked (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    cs BIGINT,
    depth BIGINT,
    cs_tag BIGINT,
    cs_mutex BIGINT,
    cs_mutex2 BIGINT,
    cs_tag_old BIGINT,
    path VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.critical_section_end (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    cs BIGINT,
    depth BIGINT,
    cs_tag BIGINT,
    cs_mutex BIGINT,
    cs_mutex2 BIGINT,
    path VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.critical_section_suspend (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    cs BIGINT,
    depth BIGINT,
    cs_tag BIGINT,
    cs_mutex BIGINT,
    cs_mutex2 BIGINT
);
CREATE TABLE IF NOT EXISTS raw.critical_section_resume (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    cs BIGINT,
    depth BIGINT,
    cs_tag BIGINT,
    cs_mutex BIGINT,
    cs_mutex2 BIGINT
);
CREATE TABLE IF NOT EXISTS raw.qsbr_register (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    slot BIGINT
);
CREATE TABLE IF NOT EXISTS raw.qsbr_unregister (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    slot BIGINT
);
CREATE TABLE IF NOT EXISTS raw.qsbr_attach (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    qsbr_seq BIGINT,
    qsbr_seq_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.qsbr_detach (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    qsbr_seq BIGINT,
    qsbr_seq_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.qsbr_quiescent (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    qsbr_seq BIGINT,
    qsbr_seq_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.qsbr_advance (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    wr_seq BIGINT,
    wr_seq_old BIGINT,
    path VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.qsbr_poll (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    goal BIGINT,
    rd_seq BIGINT,
    rd_seq_old BIGINT,
    ok BOOLEAN,
    min_seq BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_alloc (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    block BIGINT,
    size BIGINT,
    heap VARCHAR,
    page BIGINT,
    bin BIGINT,
    block_size BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_free (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    block BIGINT,
    size BIGINT,
    heap VARCHAR,
    page BIGINT,
    path VARCHAR,
    debug_fill BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_collect (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    page BIGINT,
    count BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_page_new (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    page BIGINT,
    heap VARCHAR,
    bin BIGINT,
    block_size BIGINT,
    capacity BIGINT,
    segment BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_page_free (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    page BIGINT,
    heap VARCHAR,
    bin BIGINT,
    block_size BIGINT,
    capacity BIGINT,
    segment BIGINT,
    goal BIGINT,
    rd_seq BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_page_qsbr_defer (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    page BIGINT,
    goal BIGINT,
    goal_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_page_qsbr_cancel (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    page BIGINT,
    goal_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_segment_new (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    segment BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_segment_free (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    segment BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_segment_abandon (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    segment BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_segment_reclaim (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    segment BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_free_delayed (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    block BIGINT,
    size BIGINT,
    goal BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_process_delayed (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    block BIGINT,
    goal BIGINT,
    thread BIGINT,
    rd_seq BIGINT
);
CREATE TABLE IF NOT EXISTS raw.obmalloc_abandon_delayed (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    count BIGINT
);
CREATE TABLE IF NOT EXISTS raw.listobject_resize (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    block BIGINT,
    capacity BIGINT,
    block_old BIGINT,
    capacity_old BIGINT,
    shared BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.listobject_store (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    index BIGINT,
    value BIGINT,
    prev BIGINT,
    ob_size BIGINT
);
CREATE TABLE IF NOT EXISTS raw.listobject_read (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    index BIGINT,
    value BIGINT,
    path VARCHAR,
    block BIGINT
);
CREATE TABLE IF NOT EXISTS raw.dictobject_resize (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    block BIGINT,
    capacity BIGINT,
    block_old BIGINT,
    capacity_old BIGINT,
    shared BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.dictobject_store (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    index BIGINT,
    value BIGINT,
    prev BIGINT,
    ob_size BIGINT
);
CREATE TABLE IF NOT EXISTS raw.dictobject_read (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    index BIGINT,
    value BIGINT,
    path VARCHAR,
    block BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_stw_request (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    scope VARCHAR,
    requester BIGINT,
    countdown BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_stop_the_world (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    scope VARCHAR,
    requester BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_start_the_world (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    scope VARCHAR,
    requester BIGINT,
    countdown BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_stw_countdown (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    scope VARCHAR,
    countdown BIGINT,
    countdown_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.gc_schedule (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    count BIGINT,
    threshold BIGINT
);
CREATE TABLE IF NOT EXISTS raw.gc_start (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    gen BIGINT,
    reason VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.gc_phase (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    phase VARCHAR,
    phase_old VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.gc_header (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    obj BIGINT,
    ob_tid BIGINT,
    ob_gc_bits BIGINT,
    ob_ref_local BIGINT,
    ob_ref_shared BIGINT,
    ob_tid_old BIGINT,
    ob_gc_bits_old BIGINT,
    ob_ref_local_old BIGINT,
    ob_ref_shared_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.gc_end (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    collected BIGINT,
    uncollectable BIGINT
);
CREATE TABLE IF NOT EXISTS raw.ceval_gil_take (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    switched BOOLEAN,
    switch_number BIGINT
);
CREATE TABLE IF NOT EXISTS raw.ceval_gil_drop (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    final BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.ceval_gil_drop_request (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    switch_number BIGINT
);
CREATE TABLE IF NOT EXISTS raw.interpreters_new (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    whence VARCHAR,
    feature_flags BIGINT,
    own_gil BOOLEAN,
    own_obmalloc BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.interpreters_delete (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    whence VARCHAR,
    feature_flags BIGINT,
    own_gil BOOLEAN,
    own_obmalloc BOOLEAN,
    wr_seq BIGINT,
    rd_seq BIGINT
);
CREATE TABLE IF NOT EXISTS raw.interpreters_swap (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    interp BIGINT,
    thread_old BIGINT,
    interp_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.interpreters_running_main (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    thread BIGINT,
    thread_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.interpreters_extensions (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    name VARCHAR,
    op VARCHAR,
    thread BIGINT,
    interp BIGINT
);
CREATE TABLE IF NOT EXISTS raw.typeobject_version (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    type VARCHAR,
    version BIGINT,
    version_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.typeobject_cache_read (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    index BIGINT,
    type VARCHAR,
    name VARCHAR,
    value BIGINT,
    path VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.typeobject_cache_store (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    index BIGINT,
    addr BIGINT,
    version BIGINT,
    name VARCHAR,
    value BIGINT,
    version_old BIGINT,
    name_old VARCHAR,
    value_old BIGINT
);
CREATE TABLE IF NOT EXISTS raw.funcobject_version (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    interp BIGINT,
    func VARCHAR,
    version BIGINT,
    version_old BIGINT,
    counter VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.thread_handle (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    handle BIGINT,
    thread BIGINT,
    old VARCHAR,
    new VARCHAR,
    daemon BOOLEAN
);
CREATE TABLE IF NOT EXISTS raw.thread_must_exit (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_shutting_down (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    old VARCHAR,
    new VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pystate_hang (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pystate_delete_list (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    thread BIGINT,
    interp BIGINT,
    phase_old VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pylifecycle_phase (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    phase VARCHAR,
    phase_old VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pylifecycle_fork (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    child BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pylifecycle_after_fork_child (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    process BIGINT,
    parent BIGINT,
    thread BIGINT
);
CREATE TABLE IF NOT EXISTS raw.pylifecycle_after_fork_parent (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    child BIGINT,
    status VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pylifecycle_exit (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    process BIGINT,
    status VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.pylifecycle_reinit_lock (
    run_id VARCHAR NOT NULL,
    seq BIGINT,
    ts BIGINT,
    tid BIGINT,
    mutex BIGINT,
    bits_old BIGINT,
    holder BIGINT
);
CREATE OR REPLACE VIEW main.run_failure AS SELECT run_id, seq, ts, tid, 'run.failure' AS kind, reason, message FROM raw.run_failure;
CREATE OR REPLACE VIEW main.lock_acquire AS SELECT run_id, seq, ts, tid, 'lock.acquire' AS kind, mutex, via, bits_old, bits_new, wait_ns FROM raw.lock_acquire;
CREATE OR REPLACE VIEW main.lock_release AS SELECT run_id, seq, ts, tid, 'lock.release' AS kind, mutex, via, handoff_to, bits_old, bits_new FROM raw.lock_release;
CREATE OR REPLACE VIEW main.lock_set_parked AS SELECT run_id, seq, ts, tid, 'lock.set_parked' AS kind, mutex, bits_old, bits_new FROM raw.lock_set_parked;
CREATE OR REPLACE VIEW main.lock_fail AS SELECT run_id, seq, ts, tid, 'lock.fail' AS kind, mutex, reason FROM raw.lock_fail;
CREATE OR REPLACE VIEW main.parking_lot_park AS SELECT run_id, seq, ts, tid, 'parking_lot.park' AS kind, addr, detach, timeout_ns, bucket, expected, qlen FROM raw.parking_lot_park;
CREATE OR REPLACE VIEW main.parking_lot_unpark AS SELECT run_id, seq, ts, tid, 'parking_lot.unpark' AS kind, addr, woken, has_more, bucket, mode, pos FROM raw.parking_lot_unpark;
CREATE OR REPLACE VIEW main.parking_lot_wake AS SELECT run_id, seq, ts, tid, 'parking_lot.wake' AS kind, addr, result, timed_out, pos FROM raw.parking_lot_wake;
CREATE OR REPLACE VIEW main.pystate_attach AS SELECT run_id, seq, ts, tid, 'pystate.attach' AS kind, thread, old, new FROM raw.pystate_attach;
CREATE OR REPLACE VIEW main.pystate_detach AS SELECT run_id, seq, ts, tid, 'pystate.detach' AS kind, thread, old, new FROM raw.pystate_detach;
CREATE OR REPLACE VIEW main.pystate_suspend AS SELECT run_id, seq, ts, tid, 'pystate.suspend' AS kind, thread, old, new FROM raw.pystate_suspend;
CREATE OR REPLACE VIEW main.pystate_new_thread AS SELECT run_id, seq, ts, tid, 'pystate.new_thread' AS kind, thread, interp, new, process FROM raw.pystate_new_thread;
CREATE OR REPLACE VIEW main.pystate_delete_thread AS SELECT run_id, seq, ts, tid, 'pystate.delete_thread' AS kind, thread, interp FROM raw.pystate_delete_thread;
CREATE OR REPLACE VIEW main.thread_start AS SELECT run_id, seq, ts, tid, 'thread.start' AS kind, thread FROM raw.thread_start;
CREATE OR REPLACE VIEW main.thread_exit AS SELECT run_id, seq, ts, tid, 'thread.exit' AS kind, thread FROM raw.thread_exit;
CREATE OR REPLACE VIEW main.thread_join AS SELECT run_id, seq, ts, tid, 'thread.join' AS kind, thread FROM raw.thread_join;
CREATE OR REPLACE VIEW main.lock_word AS SELECT run_id, seq, ts, tid, 'lock.word' AS kind, addr, prim, op, bits_old, bits_new FROM raw.lock_word;
CREATE OR REPLACE VIEW main.lock_seq_read AS SELECT run_id, seq, ts, tid, 'lock.seq_read' AS kind, addr, seq_value, ok FROM raw.lock_seq_read;
CREATE OR REPLACE VIEW main.lock_recursive AS SELECT run_id, seq, ts, tid, 'lock.recursive' AS kind, mutex, op, level, owner FROM raw.lock_recursive;
CREATE OR REPLACE VIEW main.guest_load AS SELECT run_id, seq, ts, tid, 'guest.load' AS kind, addr, value FROM raw.guest_load;
CREATE OR REPLACE VIEW main.guest_store AS SELECT run_id, seq, ts, tid, 'guest.store' AS kind, addr, value, prev FROM raw.guest_store;
CREATE OR REPLACE VIEW main.run_label AS SELECT run_id, seq, ts, tid, 'run.label' AS kind, addr, label, label_old FROM raw.run_label;
CREATE OR REPLACE VIEW main.object_new AS SELECT run_id, seq, ts, tid, 'object.new' AS kind, obj, type, size, gc, block, ob_tid FROM raw.object_new;
CREATE OR REPLACE VIEW main.object_incref AS SELECT run_id, seq, ts, tid, 'object.incref' AS kind, obj, path, ob_ref_local, ob_ref_shared, refcnt, ob_ref_local_old, ob_ref_shared_old FROM raw.object_incref;
CREATE OR REPLACE VIEW main.object_decref AS SELECT run_id, seq, ts, tid, 'object.decref' AS kind, obj, path, ob_ref_local, ob_ref_shared, refcnt, ob_ref_local_old, ob_ref_shared_old FROM raw.object_decref;
CREATE OR REPLACE VIEW main.object_disown AS SELECT run_id, seq, ts, tid, 'object.disown' AS kind, obj, path, ob_tid, ob_ref_local, ob_tid_old, ob_ref_local_old FROM raw.object_disown;
CREATE OR REPLACE VIEW main.object_merge AS SELECT run_id, seq, ts, tid, 'object.merge' AS kind, obj, path, extra, refcnt, ob_ref_shared, ob_ref_shared_old FROM raw.object_merge;
CREATE OR REPLACE VIEW main.object_dealloc AS SELECT run_id, seq, ts, tid, 'object.dealloc' AS kind, obj, type, size, gc, block, ob_tid, ob_ref_local, ob_ref_shared, ob_gc_bits FROM raw.object_dealloc;
CREATE OR REPLACE VIEW main.object_try_incref AS SELECT run_id, seq, ts, tid, 'object.try_incref' AS kind, obj, path, ok, ob_ref_local, ob_ref_shared, refcnt, ob_ref_local_old, ob_ref_shared_old FROM raw.object_try_incref;
CREATE OR REPLACE VIEW main.object_set_maybe_weakref AS SELECT run_id, seq, ts, tid, 'object.set_maybe_weakref' AS kind, obj, ob_ref_shared, ob_ref_shared_old FROM raw.object_set_maybe_weakref;
CREATE OR REPLACE VIEW main.object_set_immortal AS SELECT run_id, seq, ts, tid, 'object.set_immortal' AS kind, obj, ob_tid, ob_ref_local, ob_ref_shared, ob_gc_bits, ob_tid_old, ob_ref_local_old, ob_ref_shared_old, ob_gc_bits_old FROM raw.object_set_immortal;
CREATE OR REPLACE VIEW main.brc_init_thread AS SELECT run_id, seq, ts, tid, 'brc.init_thread' AS kind, thread, bucket FROM raw.brc_init_thread;
CREATE OR REPLACE VIEW main.brc_remove_thread AS SELECT run_id, seq, ts, tid, 'brc.remove_thread' AS kind, thread, bucket FROM raw.brc_remove_thread;
CREATE OR REPLACE VIEW main.brc_queue AS SELECT run_id, seq, ts, tid, 'brc.queue' AS kind, obj, owner, bucket FROM raw.brc_queue;
CREATE OR REPLACE VIEW main.brc_merge_batch AS SELECT run_id, seq, ts, tid, 'brc.merge_batch' AS kind, thread, count FROM raw.brc_merge_batch;
CREATE OR REPLACE VIEW main.brc_merge AS SELECT run_id, seq, ts, tid, 'brc.merge' AS kind, obj, owner, refcnt FROM raw.brc_merge;
CREATE OR REPLACE VIEW main.ceval_gil_eval_breaker AS SELECT run_id, seq, ts, tid, 'ceval_gil.eval_breaker' AS kind, thread, eval_bit, op, bits_old, bits_new FROM raw.ceval_gil_eval_breaker;
CREATE OR REPLACE VIEW main.critical_section_begin AS SELECT run_id, seq, ts, tid, 'critical_section.begin' AS kind, cs, depth, cs_tag, cs_mutex, cs_mutex2, path FROM raw.critical_section_begin;
CREATE OR REPLACE VIEW main.critical_section_locked AS SELECT run_id, seq, ts, tid, 'critical_section.locked' AS kind, cs, depth, cs_tag, cs_mutex, cs_mutex2, cs_tag_old, path FROM raw.critical_section_locked;
CREATE OR REPLACE VIEW main.critical_section_end AS SELECT run_id, seq, ts, tid, 'critical_section.end' AS kind, cs, depth, cs_tag, cs_mutex, cs_mutex2, path FROM raw.critical_section_end;
CREATE OR REPLACE VIEW main.critical_section_suspend AS SELECT run_id, seq, ts, tid, 'critical_section.suspend' AS kind, cs, depth, cs_tag, cs_mutex, cs_mutex2 FROM raw.critical_section_suspend;
CREATE OR REPLACE VIEW main.critical_section_resume AS SELECT run_id, seq, ts, tid, 'critical_section.resume' AS kind, cs, depth, cs_tag, cs_mutex, cs_mutex2 FROM raw.critical_section_resume;
CREATE OR REPLACE VIEW main.qsbr_register AS SELECT run_id, seq, ts, tid, 'qsbr.register' AS kind, thread, slot FROM raw.qsbr_register;
CREATE OR REPLACE VIEW main.qsbr_unregister AS SELECT run_id, seq, ts, tid, 'qsbr.unregister' AS kind, thread, slot FROM raw.qsbr_unregister;
CREATE OR REPLACE VIEW main.qsbr_attach AS SELECT run_id, seq, ts, tid, 'qsbr.attach' AS kind, thread, qsbr_seq, qsbr_seq_old FROM raw.qsbr_attach;
CREATE OR REPLACE VIEW main.qsbr_detach AS SELECT run_id, seq, ts, tid, 'qsbr.detach' AS kind, thread, qsbr_seq, qsbr_seq_old FROM raw.qsbr_detach;
CREATE OR REPLACE VIEW main.qsbr_quiescent AS SELECT run_id, seq, ts, tid, 'qsbr.quiescent' AS kind, thread, qsbr_seq, qsbr_seq_old FROM raw.qsbr_quiescent;
CREATE OR REPLACE VIEW main.qsbr_advance AS SELECT run_id, seq, ts, tid, 'qsbr.advance' AS kind, wr_seq, wr_seq_old, path FROM raw.qsbr_advance;
CREATE OR REPLACE VIEW main.qsbr_poll AS SELECT run_id, seq, ts, tid, 'qsbr.poll' AS kind, goal, rd_seq, rd_seq_old, ok, min_seq FROM raw.qsbr_poll;
CREATE OR REPLACE VIEW main.obmalloc_alloc AS SELECT run_id, seq, ts, tid, 'obmalloc.alloc' AS kind, block, size, heap, page, bin, block_size FROM raw.obmalloc_alloc;
CREATE OR REPLACE VIEW main.obmalloc_free AS SELECT run_id, seq, ts, tid, 'obmalloc.free' AS kind, block, size, heap, page, path, debug_fill FROM raw.obmalloc_free;
CREATE OR REPLACE VIEW main.obmalloc_collect AS SELECT run_id, seq, ts, tid, 'obmalloc.collect' AS kind, page, count FROM raw.obmalloc_collect;
CREATE OR REPLACE VIEW main.obmalloc_page_new AS SELECT run_id, seq, ts, tid, 'obmalloc.page_new' AS kind, page, heap, bin, block_size, capacity, segment FROM raw.obmalloc_page_new;
CREATE OR REPLACE VIEW main.obmalloc_page_free AS SELECT run_id, seq, ts, tid, 'obmalloc.page_free' AS kind, page, heap, bin, block_size, capacity, segment, goal, rd_seq FROM raw.obmalloc_page_free;
CREATE OR REPLACE VIEW main.obmalloc_page_qsbr_defer AS SELECT run_id, seq, ts, tid, 'obmalloc.page_qsbr_defer' AS kind, page, goal, goal_old FROM raw.obmalloc_page_qsbr_defer;
CREATE OR REPLACE VIEW main.obmalloc_page_qsbr_cancel AS SELECT run_id, seq, ts, tid, 'obmalloc.page_qsbr_cancel' AS kind, page, goal_old FROM raw.obmalloc_page_qsbr_cancel;
CREATE OR REPLACE VIEW main.obmalloc_segment_new AS SELECT run_id, seq, ts, tid, 'obmalloc.segment_new' AS kind, segment, thread FROM raw.obmalloc_segment_new;
CREATE OR REPLACE VIEW main.obmalloc_segment_free AS SELECT run_id, seq, ts, tid, 'obmalloc.segment_free' AS kind, segment, thread FROM raw.obmalloc_segment_free;
CREATE OR REPLACE VIEW main.obmalloc_segment_abandon AS SELECT run_id, seq, ts, tid, 'obmalloc.segment_abandon' AS kind, segment, thread FROM raw.obmalloc_segment_abandon;
CREATE OR REPLACE VIEW main.obmalloc_segment_reclaim AS SELECT run_id, seq, ts, tid, 'obmalloc.segment_reclaim' AS kind, segment, thread FROM raw.obmalloc_segment_reclaim;
CREATE OR REPLACE VIEW main.obmalloc_free_delayed AS SELECT run_id, seq, ts, tid, 'obmalloc.free_delayed' AS kind, block, size, goal, thread FROM raw.obmalloc_free_delayed;
CREATE OR REPLACE VIEW main.obmalloc_process_delayed AS SELECT run_id, seq, ts, tid, 'obmalloc.process_delayed' AS kind, block, goal, thread, rd_seq FROM raw.obmalloc_process_delayed;
CREATE OR REPLACE VIEW main.obmalloc_abandon_delayed AS SELECT run_id, seq, ts, tid, 'obmalloc.abandon_delayed' AS kind, thread, count FROM raw.obmalloc_abandon_delayed;
CREATE OR REPLACE VIEW main.listobject_resize AS SELECT run_id, seq, ts, tid, 'listobject.resize' AS kind, obj, block, capacity, block_old, capacity_old, shared FROM raw.listobject_resize;
CREATE OR REPLACE VIEW main.listobject_store AS SELECT run_id, seq, ts, tid, 'listobject.store' AS kind, obj, index, value, prev, ob_size FROM raw.listobject_store;
CREATE OR REPLACE VIEW main.listobject_read AS SELECT run_id, seq, ts, tid, 'listobject.read' AS kind, obj, index, value, path, block FROM raw.listobject_read;
CREATE OR REPLACE VIEW main.dictobject_resize AS SELECT run_id, seq, ts, tid, 'dictobject.resize' AS kind, obj, block, capacity, block_old, capacity_old, shared FROM raw.dictobject_resize;
CREATE OR REPLACE VIEW main.dictobject_store AS SELECT run_id, seq, ts, tid, 'dictobject.store' AS kind, obj, index, value, prev, ob_size FROM raw.dictobject_store;
CREATE OR REPLACE VIEW main.dictobject_read AS SELECT run_id, seq, ts, tid, 'dictobject.read' AS kind, obj, index, value, path, block FROM raw.dictobject_read;
CREATE OR REPLACE VIEW main.pystate_stw_request AS SELECT run_id, seq, ts, tid, 'pystate.stw_request' AS kind, scope, requester, countdown FROM raw.pystate_stw_request;
CREATE OR REPLACE VIEW main.pystate_stop_the_world AS SELECT run_id, seq, ts, tid, 'pystate.stop_the_world' AS kind, scope, requester FROM raw.pystate_stop_the_world;
CREATE OR REPLACE VIEW main.pystate_start_the_world AS SELECT run_id, seq, ts, tid, 'pystate.start_the_world' AS kind, scope, requester, countdown FROM raw.pystate_start_the_world;
CREATE OR REPLACE VIEW main.pystate_stw_countdown AS SELECT run_id, seq, ts, tid, 'pystate.stw_countdown' AS kind, scope, countdown, countdown_old FROM raw.pystate_stw_countdown;
CREATE OR REPLACE VIEW main.gc_schedule AS SELECT run_id, seq, ts, tid, 'gc.schedule' AS kind, count, threshold FROM raw.gc_schedule;
CREATE OR REPLACE VIEW main.gc_start AS SELECT run_id, seq, ts, tid, 'gc.start' AS kind, gen, reason FROM raw.gc_start;
CREATE OR REPLACE VIEW main.gc_phase AS SELECT run_id, seq, ts, tid, 'gc.phase' AS kind, phase, phase_old FROM raw.gc_phase;
CREATE OR REPLACE VIEW main.gc_header AS SELECT run_id, seq, ts, tid, 'gc.header' AS kind, obj, ob_tid, ob_gc_bits, ob_ref_local, ob_ref_shared, ob_tid_old, ob_gc_bits_old, ob_ref_local_old, ob_ref_shared_old FROM raw.gc_header;
CREATE OR REPLACE VIEW main.gc_end AS SELECT run_id, seq, ts, tid, 'gc.end' AS kind, collected, uncollectable FROM raw.gc_end;
CREATE OR REPLACE VIEW main.ceval_gil_take AS SELECT run_id, seq, ts, tid, 'ceval_gil.take' AS kind, thread, switched, switch_number FROM raw.ceval_gil_take;
CREATE OR REPLACE VIEW main.ceval_gil_drop AS SELECT run_id, seq, ts, tid, 'ceval_gil.drop' AS kind, thread, final FROM raw.ceval_gil_drop;
CREATE OR REPLACE VIEW main.ceval_gil_drop_request AS SELECT run_id, seq, ts, tid, 'ceval_gil.drop_request' AS kind, thread, switch_number FROM raw.ceval_gil_drop_request;
CREATE OR REPLACE VIEW main.interpreters_new AS SELECT run_id, seq, ts, tid, 'interpreters.new' AS kind, interp, whence, feature_flags, own_gil, own_obmalloc FROM raw.interpreters_new;
CREATE OR REPLACE VIEW main.interpreters_delete AS SELECT run_id, seq, ts, tid, 'interpreters.delete' AS kind, interp, whence, feature_flags, own_gil, own_obmalloc, wr_seq, rd_seq FROM raw.interpreters_delete;
CREATE OR REPLACE VIEW main.interpreters_swap AS SELECT run_id, seq, ts, tid, 'interpreters.swap' AS kind, thread, interp, thread_old, interp_old FROM raw.interpreters_swap;
CREATE OR REPLACE VIEW main.interpreters_running_main AS SELECT run_id, seq, ts, tid, 'interpreters.running_main' AS kind, interp, thread, thread_old FROM raw.interpreters_running_main;
CREATE OR REPLACE VIEW main.interpreters_extensions AS SELECT run_id, seq, ts, tid, 'interpreters.extensions' AS kind, name, op, thread, interp FROM raw.interpreters_extensions;
CREATE OR REPLACE VIEW main.typeobject_version AS SELECT run_id, seq, ts, tid, 'typeobject.version' AS kind, interp, type, version, version_old FROM raw.typeobject_version;
CREATE OR REPLACE VIEW main.typeobject_cache_read AS SELECT run_id, seq, ts, tid, 'typeobject.cache_read' AS kind, interp, index, type, name, value, path FROM raw.typeobject_cache_read;
CREATE OR REPLACE VIEW main.typeobject_cache_store AS SELECT run_id, seq, ts, tid, 'typeobject.cache_store' AS kind, interp, index, addr, version, name, value, version_old, name_old, value_old FROM raw.typeobject_cache_store;
CREATE OR REPLACE VIEW main.funcobject_version AS SELECT run_id, seq, ts, tid, 'funcobject.version' AS kind, interp, func, version, version_old, counter FROM raw.funcobject_version;
CREATE OR REPLACE VIEW main.thread_handle AS SELECT run_id, seq, ts, tid, 'thread.handle' AS kind, handle, thread, old, new, daemon FROM raw.thread_handle;
CREATE OR REPLACE VIEW main.thread_must_exit AS SELECT run_id, seq, ts, tid, 'thread.must_exit' AS kind, thread FROM raw.thread_must_exit;
CREATE OR REPLACE VIEW main.pystate_shutting_down AS SELECT run_id, seq, ts, tid, 'pystate.shutting_down' AS kind, thread, old, new FROM raw.pystate_shutting_down;
CREATE OR REPLACE VIEW main.pystate_hang AS SELECT run_id, seq, ts, tid, 'pystate.hang' AS kind, thread FROM raw.pystate_hang;
CREATE OR REPLACE VIEW main.pystate_delete_list AS SELECT run_id, seq, ts, tid, 'pystate.delete_list' AS kind, thread, interp, phase_old FROM raw.pystate_delete_list;
CREATE OR REPLACE VIEW main.pylifecycle_phase AS SELECT run_id, seq, ts, tid, 'pylifecycle.phase' AS kind, phase, phase_old FROM raw.pylifecycle_phase;
CREATE OR REPLACE VIEW main.pylifecycle_fork AS SELECT run_id, seq, ts, tid, 'pylifecycle.fork' AS kind, child, thread FROM raw.pylifecycle_fork;
CREATE OR REPLACE VIEW main.pylifecycle_after_fork_child AS SELECT run_id, seq, ts, tid, 'pylifecycle.after_fork_child' AS kind, process, parent, thread FROM raw.pylifecycle_after_fork_child;
CREATE OR REPLACE VIEW main.pylifecycle_after_fork_parent AS SELECT run_id, seq, ts, tid, 'pylifecycle.after_fork_parent' AS kind, child, status FROM raw.pylifecycle_after_fork_parent;
CREATE OR REPLACE VIEW main.pylifecycle_exit AS SELECT run_id, seq, ts, tid, 'pylifecycle.exit' AS kind, process, status FROM raw.pylifecycle_exit;
CREATE OR REPLACE VIEW main.pylifecycle_reinit_lock AS SELECT run_id, seq, ts, tid, 'pylifecycle.reinit_lock' AS kind, mutex, bits_old, holder FROM raw.pylifecycle_reinit_lock;
CREATE OR REPLACE VIEW main.events AS
SELECT * FROM main.run_failure
UNION ALL BY NAME
SELECT * FROM main.lock_acquire
UNION ALL BY NAME
SELECT * FROM main.lock_release
UNION ALL BY NAME
SELECT * FROM main.lock_set_parked
UNION ALL BY NAME
SELECT * FROM main.lock_fail
UNION ALL BY NAME
SELECT * FROM main.parking_lot_park
UNION ALL BY NAME
SELECT * FROM main.parking_lot_unpark
UNION ALL BY NAME
SELECT * FROM main.parking_lot_wake
UNION ALL BY NAME
SELECT * FROM main.pystate_attach
UNION ALL BY NAME
SELECT * FROM main.pystate_detach
UNION ALL BY NAME
SELECT * FROM main.pystate_suspend
UNION ALL BY NAME
SELECT * FROM main.pystate_new_thread
UNION ALL BY NAME
SELECT * FROM main.pystate_delete_thread
UNION ALL BY NAME
SELECT * FROM main.thread_start
UNION ALL BY NAME
SELECT * FROM main.thread_exit
UNION ALL BY NAME
SELECT * FROM main.thread_join
UNION ALL BY NAME
SELECT * FROM main.lock_word
UNION ALL BY NAME
SELECT * FROM main.lock_seq_read
UNION ALL BY NAME
SELECT * FROM main.lock_recursive
UNION ALL BY NAME
SELECT * FROM main.guest_load
UNION ALL BY NAME
SELECT * FROM main.guest_store
UNION ALL BY NAME
SELECT * FROM main.run_label
UNION ALL BY NAME
SELECT * FROM main.object_new
UNION ALL BY NAME
SELECT * FROM main.object_incref
UNION ALL BY NAME
SELECT * FROM main.object_decref
UNION ALL BY NAME
SELECT * FROM main.object_disown
UNION ALL BY NAME
SELECT * FROM main.object_merge
UNION ALL BY NAME
SELECT * FROM main.object_dealloc
UNION ALL BY NAME
SELECT * FROM main.object_try_incref
UNION ALL BY NAME
SELECT * FROM main.object_set_maybe_weakref
UNION ALL BY NAME
SELECT * FROM main.object_set_immortal
UNION ALL BY NAME
SELECT * FROM main.brc_init_thread
UNION ALL BY NAME
SELECT * FROM main.brc_remove_thread
UNION ALL BY NAME
SELECT * FROM main.brc_queue
UNION ALL BY NAME
SELECT * FROM main.brc_merge_batch
UNION ALL BY NAME
SELECT * FROM main.brc_merge
UNION ALL BY NAME
SELECT * FROM main.ceval_gil_eval_breaker
UNION ALL BY NAME
SELECT * FROM main.critical_section_begin
UNION ALL BY NAME
SELECT * FROM main.critical_section_locked
UNION ALL BY NAME
SELECT * FROM main.critical_section_end
UNION ALL BY NAME
SELECT * FROM main.critical_section_suspend
UNION ALL BY NAME
SELECT * FROM main.critical_section_resume
UNION ALL BY NAME
SELECT * FROM main.qsbr_register
UNION ALL BY NAME
SELECT * FROM main.qsbr_unregister
UNION ALL BY NAME
SELECT * FROM main.qsbr_attach
UNION ALL BY NAME
SELECT * FROM main.qsbr_detach
UNION ALL BY NAME
SELECT * FROM main.qsbr_quiescent
UNION ALL BY NAME
SELECT * FROM main.qsbr_advance
UNION ALL BY NAME
SELECT * FROM main.qsbr_poll
UNION ALL BY NAME
SELECT * FROM main.obmalloc_alloc
UNION ALL BY NAME
SELECT * FROM main.obmalloc_free
UNION ALL BY NAME
SELECT * FROM main.obmalloc_collect
UNION ALL BY NAME
SELECT * FROM main.obmalloc_page_new
UNION ALL BY NAME
SELECT * FROM main.obmalloc_page_free
UNION ALL BY NAME
SELECT * FROM main.obmalloc_page_qsbr_defer
UNION ALL BY NAME
SELECT * FROM main.obmalloc_page_qsbr_cancel
UNION ALL BY NAME
SELECT * FROM main.obmalloc_segment_new
UNION ALL BY NAME
SELECT * FROM main.obmalloc_segment_free
UNION ALL BY NAME
SELECT * FROM main.obmalloc_segment_abandon
UNION ALL BY NAME
SELECT * FROM main.obmalloc_segment_reclaim
UNION ALL BY NAME
SELECT * FROM main.obmalloc_free_delayed
UNION ALL BY NAME
SELECT * FROM main.obmalloc_process_delayed
UNION ALL BY NAME
SELECT * FROM main.obmalloc_abandon_delayed
UNION ALL BY NAME
SELECT * FROM main.listobject_resize
UNION ALL BY NAME
SELECT * FROM main.listobject_store
UNION ALL BY NAME
SELECT * FROM main.listobject_read
UNION ALL BY NAME
SELECT * FROM main.dictobject_resize
UNION ALL BY NAME
SELECT * FROM main.dictobject_store
UNION ALL BY NAME
SELECT * FROM main.dictobject_read
UNION ALL BY NAME
SELECT * FROM main.pystate_stw_request
UNION ALL BY NAME
SELECT * FROM main.pystate_stop_the_world
UNION ALL BY NAME
SELECT * FROM main.pystate_start_the_world
UNION ALL BY NAME
SELECT * FROM main.pystate_stw_countdown
UNION ALL BY NAME
SELECT * FROM main.gc_schedule
UNION ALL BY NAME
SELECT * FROM main.gc_start
UNION ALL BY NAME
SELECT * FROM main.gc_phase
UNION ALL BY NAME
SELECT * FROM main.gc_header
UNION ALL BY NAME
SELECT * FROM main.gc_end
UNION ALL BY NAME
SELECT * FROM main.ceval_gil_take
UNION ALL BY NAME
SELECT * FROM main.ceval_gil_drop
UNION ALL BY NAME
SELECT * FROM main.ceval_gil_drop_request
UNION ALL BY NAME
SELECT * FROM main.interpreters_new
UNION ALL BY NAME
SELECT * FROM main.interpreters_delete
UNION ALL BY NAME
SELECT * FROM main.interpreters_swap
UNION ALL BY NAME
SELECT * FROM main.interpreters_running_main
UNION ALL BY NAME
SELECT * FROM main.interpreters_extensions
UNION ALL BY NAME
SELECT * FROM main.typeobject_version
UNION ALL BY NAME
SELECT * FROM main.typeobject_cache_read
UNION ALL BY NAME
SELECT * FROM main.typeobject_cache_store
UNION ALL BY NAME
SELECT * FROM main.funcobject_version
UNION ALL BY NAME
SELECT * FROM main.thread_handle
UNION ALL BY NAME
SELECT * FROM main.thread_must_exit
UNION ALL BY NAME
SELECT * FROM main.pystate_shutting_down
UNION ALL BY NAME
SELECT * FROM main.pystate_hang
UNION ALL BY NAME
SELECT * FROM main.pystate_delete_list
UNION ALL BY NAME
SELECT * FROM main.pylifecycle_phase
UNION ALL BY NAME
SELECT * FROM main.pylifecycle_fork
UNION ALL BY NAME
SELECT * FROM main.pylifecycle_after_fork_child
UNION ALL BY NAME
SELECT * FROM main.pylifecycle_after_fork_parent
UNION ALL BY NAME
SELECT * FROM main.pylifecycle_exit
UNION ALL BY NAME
SELECT * FROM main.pylifecycle_reinit_lock;
