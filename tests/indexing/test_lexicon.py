import pytest

from assistant.indexing import lexicon as lexicon_module
from assistant.indexing.lexicon import Lexicon, read_cedict, stem_words


def test_english_words_are_compared_by_snowball_stems():
    assert stem_words("Generation of driving scenes") == ("generat", "drive", "scene")
    assert stem_words("to generate") == ("generat",)


def test_the_bundled_cc_cedict_glosses_the_corpus_words():
    glosses = read_cedict(lexicon_module.cedict_path(), {"生成", "驾驶", "开源", "不存在的词"})
    assert ("generat",) in glosses["生成"]
    assert ("drive",) in glosses["驾驶"]
    assert "不存在的词" not in glosses
    # explanations longer than two words are not terms
    assert all(len(g) <= 2 for gl in glosses.values() for g in gl)


def test_english_terms_translate_by_stem_and_by_a_two_word_gloss_with_a_neighbour():
    lex = Lexicon({"生成": [("generat",)], "开源": [("open", "sourc")], "场景": [("scene",)]})
    found = lex.translations(["open", "source", "video", "generation", "scenes"])
    assert found["generation"] == {"生成"}
    assert found["open"] == {"开源"} and found["source"] == {"开源"}
    assert found["scenes"] == {"场景"}
    assert "video" not in found
    # a Chinese term gets the stems of its single-word glosses
    assert lex.translations(["场景", "开源"]) == {"场景": {"scene"}}


def test_query_groups_pair_each_english_token_with_its_chinese_words():
    lex = Lexicon({"生成": [("generat",)], "开源": [("open", "sourc")], "产生": [("generat",)]})
    groups = lex.groups(["open", "source", "video", "generation", "生成"])
    assert groups == [
        ("open", "开源"),
        ("source", "开源"),
        ("video",),
        ("generation", "产生", "生成"),
        ("生成",),  # Chinese tokens stay themselves
    ]


def test_the_lexicon_is_cached_per_vocabulary(tmp_path, monkeypatch):
    cache = tmp_path / "lexicon.json"
    first = Lexicon.for_vocabulary({"生成", "驾驶", "video", "生"}, cache)
    assert cache.is_file() and len(first) == 2  # single characters and English skipped

    def unavailable():
        raise AssertionError("the dictionary was read again")

    monkeypatch.setattr(lexicon_module, "cedict_path", unavailable)
    again = Lexicon.for_vocabulary({"生成", "驾驶"}, cache)
    assert again.zh_to_en == first.zh_to_en
    with pytest.raises(AssertionError):  # another vocabulary is another lexicon
        Lexicon.for_vocabulary({"生成"}, cache)


def test_an_unreadable_cache_is_rebuilt(tmp_path):
    cache = tmp_path / "lexicon.json"
    cache.write_text("{not json", encoding="utf-8")
    lex = Lexicon.for_vocabulary({"驾驶"}, cache)
    assert ("drive",) in lex.zh_to_en["驾驶"]
    assert '"驾驶"' in cache.read_text(encoding="utf-8")


def test_a_place_is_glossed_by_the_adjective_of_its_people():
    glosses = read_cedict(lexicon_module.cedict_path(), {"中国", "日本", "欧洲", "开源"})
    assert ("chines",) in glosses["中国"]
    assert ("japanes",) in glosses["日本"] and ("european",) in glosses["欧洲"]
    assert "中国人" not in glosses  # only the place, which the corpus has, is glossed
    assert not any(g[0] in ("person", "peopl") for gl in glosses.values() for g in gl)
    lex = Lexicon(glosses)
    assert "中国" in lex.translations(["chinese", "labs"])["chinese"]


def test_a_cache_from_an_older_derivation_is_rebuilt(tmp_path):
    cache = tmp_path / "lexicon.json"
    Lexicon.for_vocabulary({"中国"}, cache)
    stale = cache.read_text(encoding="utf-8").replace(
        f'"version": {lexicon_module.LEXICON_VERSION}', '"version": 1'
    )
    cache.write_text(stale.replace('["chines"]', '["china"]'), encoding="utf-8")
    assert ("chines",) in Lexicon.for_vocabulary({"中国"}, cache).zh_to_en["中国"]


def test_an_update_looks_up_only_new_words_and_equals_a_full_lookup(tmp_path, monkeypatch):
    earlier = tmp_path / "old.json"
    Lexicon.for_vocabulary({"生成", "驾驶", "开源"}, earlier)
    asked: list[set[str]] = []
    real = lexicon_module.read_cedict

    def recording(path, wanted):
        asked.append(set(wanted))
        return real(path, wanted)

    monkeypatch.setattr(lexicon_module, "read_cedict", recording)
    words = {"生成", "开源", "中国", "场景"}  # 驾驶 gone, two new words
    updated = Lexicon.for_vocabulary(words, tmp_path / "new.json", previous=earlier)
    assert asked == [{"中国", "场景"}]
    full = Lexicon.for_vocabulary(words, tmp_path / "full.json")
    assert updated.zh_to_en == full.zh_to_en and "驾驶" not in updated.zh_to_en
    assert ("chines",) in updated.zh_to_en["中国"]  # via 中国人 "Chinese person"
