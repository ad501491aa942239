/* cloudgate: the store of rendered texts per instance (engine/fragment_store.c):
 * what a get finds after a put, what a key, tag or slot change misses, that a
 * replaced text stays readable while a reader holds it, that a prune keeps
 * only the live instances, and how the counters move.  Each test starts
 * from an empty store (the counters carry over: tests read differences). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fragment_store.h"
#include "gateway/request.h"

static cg_frag_store store = CG_FRAG_STORE_INIT;

/* A text of s under key, stored for id in slot; the caller's reference. */
static cg_frag *put_text(const char *id, unsigned slot, uint64_t key, const char *s)
{
    cg_frag *f = cg_frag_new(key, strlen(s));

    assert_non_null(f);
    memcpy(f->data, s, f->len);
    f->part[0] = 1;
    f->part[1] = f->len - 1;
    cg_frag_store_put(&store, id, slot, f);
    return f;
}

static void expect_text(const char *id, unsigned slot, uint64_t key, const char *s)
{
    cg_frag *f = cg_frag_store_get(&store, id, slot, key, NULL);

    assert_non_null(f);
    assert_int_equal(f->key, key);
    assert_int_equal(f->len, strlen(s));
    assert_memory_equal(f->data, s, f->len);
    assert_int_equal(f->data[f->len], '\0');
    cg_frag_unref(f);
}

static void stats(unsigned long *stored, unsigned long *reused, size_t *cached)
{
    cg_frag_store_stats(&store, stored, reused, cached);
}

static int teardown(void **state)
{
    (void)state;
    cg_frag_store_clear(&store);
    return 0;
}

static void test_get_after_put(void **state)
{
    unsigned long s0, r0, s1, r1;
    size_t cached;
    cg_frag *f, *got;

    (void)state;
    stats(&s0, &r0, &cached);
    assert_int_equal(cached, 0);
    assert_null(cg_frag_store_get(&store, "i-1", 0, 7, NULL)); /* empty store */
    f = put_text("i-1", 0, 7, ",<item>one</item>");
    got = cg_frag_store_get(&store, "i-1", 0, 7, NULL);
    assert_ptr_equal(got, f); /* the very text, not a copy */
    assert_int_equal(got->part[0], 1);
    assert_int_equal(got->part[1], strlen("<item>one</item>"));
    cg_frag_unref(got);
    cg_frag_unref(f);
    /* The store's own reference keeps it after the caller's went. */
    expect_text("i-1", 0, 7, ",<item>one</item>");
    stats(&s1, &r1, &cached);
    assert_int_equal(s1 - s0, 1);
    assert_int_equal(r1 - r0, 2);
    assert_int_equal(cached, 1);
}

static void test_other_key_or_id_misses(void **state)
{
    unsigned long s0, r0, s1, r1;
    size_t cached;

    (void)state;
    cg_frag_unref(put_text("i-1", 0, 7, "seven"));
    stats(&s0, &r0, &cached);
    assert_null(cg_frag_store_get(&store, "i-1", 0, 8, NULL));
    assert_null(cg_frag_store_get(&store, "i-2", 0, 7, NULL));
    assert_null(cg_frag_store_get(&store, "", 0, 7, NULL));
    assert_null(cg_frag_store_get(&store, "i-1", CG_FRAG_SLOTS, 7, NULL));
    stats(&s1, &r1, &cached);
    assert_int_equal(r1, r0); /* misses are not reuse */
    assert_int_equal(s1, s0);
    expect_text("i-1", 0, 7, "seven");
}

/* A tag is compared whole: the same key with another tag, or none, misses. */
static void test_tag_must_match(void **state)
{
    static const char base[] = "http://a.example/cimi/";
    cg_frag *f = cg_frag_new(7, strlen("text") + sizeof(base)), *got;

    (void)state;
    assert_non_null(f);
    memcpy(f->data, "text", 4);
    memcpy(f->data + 4, base, sizeof(base));
    f->tag = f->data + 4;
    cg_frag_store_put(&store, "i-1", 0, f);
    cg_frag_unref(f);
    got = cg_frag_store_get(&store, "i-1", 0, 7, "http://a.example/cimi/");
    assert_non_null(got);
    assert_string_equal(got->tag, base);
    cg_frag_unref(got);
    assert_null(cg_frag_store_get(&store, "i-1", 0, 7, NULL));
    assert_null(cg_frag_store_get(&store, "i-1", 0, 7, "http://b.example/cimi/"));
    assert_null(cg_frag_store_get(&store, "i-1", 0, 7, "http://a.example/cimi"));
    /* An untagged text is not found with a tag. */
    cg_frag_unref(put_text("i-2", 0, 7, "plain"));
    assert_null(cg_frag_store_get(&store, "i-2", 0, 7, base));
}

static void test_put_replaces_and_readers_keep_old(void **state)
{
    unsigned long s0, r0, s1, r1;
    size_t cached;
    cg_frag *old, *held;

    (void)state;
    stats(&s0, &r0, &cached);
    old = put_text("i-1", 0, 1, "old text");
    held = cg_frag_store_get(&store, "i-1", 0, 1, NULL);
    cg_frag_unref(old); /* the reader's and the store's references are left */
    cg_frag_unref(put_text("i-1", 0, 2, "new text, longer"));
    /* The store's reference to the old text went; the reader's keeps it
     * whole (ASan would catch a read after free). */
    assert_int_equal(__atomic_load_n(&held->refs, __ATOMIC_RELAXED), 1);
    assert_memory_equal(held->data, "old text", held->len);
    assert_null(cg_frag_store_get(&store, "i-1", 0, 1, NULL));
    expect_text("i-1", 0, 2, "new text, longer");
    cg_frag_unref(held);
    stats(&s1, &r1, &cached);
    assert_int_equal(s1 - s0, 2);
    assert_int_equal(r1 - r0, 2);
    assert_int_equal(cached, 1); /* one instance, replaced */
}

static void test_slots_are_independent(void **state)
{
    size_t cached;
    unsigned long s, r;

    (void)state;
    cg_frag_unref(put_text("i-1", 0, 5, "{\"json\": 1}"));
    assert_null(cg_frag_store_get(&store, "i-1", 1, 5, NULL)); /* slot 1 still empty */
    cg_frag_unref(put_text("i-1", 1, 5, "<Xml/>"));
    expect_text("i-1", 0, 5, "{\"json\": 1}");
    expect_text("i-1", 1, 5, "<Xml/>");
    /* Replacing one slot's text leaves the other's. */
    cg_frag_unref(put_text("i-1", 1, 6, "<Xml>2</Xml>"));
    expect_text("i-1", 0, 5, "{\"json\": 1}");
    expect_text("i-1", 1, 6, "<Xml>2</Xml>");
    stats(&s, &r, &cached);
    assert_int_equal(cached, 1); /* slots are of one entry */
}

/* Enough instances to grow the table several times; each still found. */
static void test_many_and_prune(void **state)
{
    cg_instance live_v[3] = {0};
    cg_instance_list live = {live_v, 3}, most = {calloc(450, sizeof(cg_instance)), 450};
    char id[24], text[32];
    unsigned long s, r;
    size_t cached, i;

    (void)state;
    for (i = 0; i < 500; i++) {
        snprintf(id, sizeof(id), "i-0%016zx", i);
        snprintf(text, sizeof(text), "text %zu", i);
        cg_frag_unref(put_text(id, i % 2, i, text));
    }
    stats(&s, &r, &cached);
    assert_int_equal(cached, 500);
    for (i = 0; i < 500; i += 37) {
        snprintf(id, sizeof(id), "i-0%016zx", i);
        snprintf(text, sizeof(text), "text %zu", i);
        expect_text(id, i % 2, i, text);
    }
    /* Few gone: nothing is dropped yet (the rule: more than n + 64 + n/4). */
    assert_non_null(most.v);
    for (i = 0; i < 450; i++)
        snprintf(most.v[i].id, sizeof(most.v[i].id), "i-0%016zx", i);
    cg_frag_store_prune(&store, &most);
    free(most.v);
    stats(&s, &r, &cached);
    assert_int_equal(cached, 500);
    /* Most gone: only the live ones stay, an unknown live id adds nothing. */
    snprintf(live_v[0].id, sizeof(live_v[0].id), "i-0%016x", 3);
    snprintf(live_v[1].id, sizeof(live_v[1].id), "i-0%016x", 498);
    snprintf(live_v[2].id, sizeof(live_v[2].id), "i-never-stored");
    cg_frag_store_prune(&store, &live);
    stats(&s, &r, &cached);
    assert_int_equal(cached, 2);
    expect_text(live_v[0].id, 1, 3, "text 3");
    expect_text(live_v[1].id, 0, 498, "text 498");
    snprintf(id, sizeof(id), "i-0%016x", 4);
    assert_null(cg_frag_store_get(&store, id, 0, 4, NULL));
    /* The store still takes new texts after the rebuild. */
    cg_frag_unref(put_text(id, 0, 4, "back"));
    expect_text(id, 0, 4, "back");
}

/* A piece of a response that owns a reference gives it back. */
static void test_piece_unref(void **state)
{
    cg_frag *f = put_text("i-1", 0, 9, "piece");
    gw_piece pc = {f->data, f->len, cg_frag_piece_unref, cg_frag_ref(f)};

    (void)state;
    assert_int_equal(__atomic_load_n(&f->refs, __ATOMIC_RELAXED), 3);
    pc.unref(pc.data, pc.len, pc.owner);
    assert_int_equal(__atomic_load_n(&f->refs, __ATOMIC_RELAXED), 2);
    cg_frag_unref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_get_after_put, teardown),
        cmocka_unit_test_teardown(test_other_key_or_id_misses, teardown),
        cmocka_unit_test_teardown(test_tag_must_match, teardown),
        cmocka_unit_test_teardown(test_put_replaces_and_readers_keep_old, teardown),
        cmocka_unit_test_teardown(test_slots_are_independent, teardown),
        cmocka_unit_test_teardown(test_many_and_prune, teardown),
        cmocka_unit_test_teardown(test_piece_unref, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
