"""Who made it: does a sentence credit an organisation (or authors) with a thing?

"Which lab built X?" matches every sentence about X; only some say who built it: about X,
one uses an organisation word (公司, University), gives X an owner (``NVIDIA 的 GameGAN``),
names a maker ("developed by Google") or puts a company word before X in a list (``腾讯
HunyuanVideo``); for "who built X", a paper's authors will do. The patterns are how text
credits a maker, in either language, not any corpus's organisations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.units import LINK_MARK, Unit

ORGANISATION_ASKED = re.compile(
    r"哪(?:一|几|两|[三四五六七八九十])?\s*[家个所些]\s*(?:公司|企业|厂商|厂家|机构|单位|大学|高校|实验室"
    r"|团队|研究所|研究院|组织|课题组)|哪些单位|(?:由|是)谁(?:开发|发布|推出|提出|研发|打造|构建|训练|做)"
    r"|谁(?:开发|发布|推出|研发|打造|构建|训练)的"
    r"|\bwhich (?:[\w-]+ ){0,2}?(?:compan(?:y|ies)|firms?|startups?|manufacturers?|makers?|vendors?"
    r"|labs?|laborator(?:y|ies)|universit(?:y|ies)|institutes?|institutions?|organi[sz]ations?"
    r"|teams?|research groups?)\b"
    r"|\bwho (?:built|builds|developed|develops|released|made|makes|created|trained|launched"
    r"|announced|(?:is|was|are|were) behind)\b|\b(?:company|lab|team|organi[sz]ation) behind\b",
    re.IGNORECASE,
)
"""Asks who built or released something; "who wrote" asks for authors instead."""
AUTHORS = re.compile(r"^Authors?:|\bet al\b|[A-Za-z]\s*等人")
"""Where a text names authors: a paper's ``Authors:`` line, "Hafner et al.", "Ha 等人"."""
_WHO_ASKED = re.compile(r"谁|\bwho\b", re.IGNORECASE)
_ORGANISATION_WORD = re.compile(
    r"公司|集团|企业|团队|实验室|大学|学院|研究院|研究所|中心|机构|基金会|课题组"
)
"""What ends a Chinese organisation's name (``Wayve 公司``, ``东岸医科大学``)."""
_LATIN_ORGANISATION = re.compile(
    r"\b(?:University|Institute|Institution|Lab|Labs|Laboratory|Laboratories|Inc|Corp"
    r"|Corporation|Company|Team|Group|Foundation|Academy)\b"
)
_GLOSS = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+$")
_MAKER = re.compile(
    r"(?<![A-Za-z0-9])[A-Z][A-Za-z0-9&.-]*(?:\s+[A-Z][A-Za-z0-9&.-]*)*\s*(?:（[^）]*）)?\s*"
    r"(?:于[^，。；]{0,15}?|[\u4e00-\u9fff]{1,2})?(?:发布|推出|开发|提出|开源|研发|打造|released"
    r"|developed|built|introduced|announced|launched)|\b(?:by|from)\s+(?:the\s+)?[A-Z][A-Za-z0-9&.-]*"
)
"""A name that made something: ``NVIDIA 于 2025 年 1 月发布``, ``Google DeepMind 又发布``,
"developed by Google"."""
_CJK_FUNCTION = "的地得在是把被由将对与和及或了着过为从向用"
"""Characters a word before a name ends in when it is no company (``体量最小的 X``)."""


def _organisation_named(text: str) -> bool:
    """Whether ``text`` names an organisation: a capitalised organisation word (``Stanford
    University``), or a Chinese one after a name (``Wayve 公司``, ``明溪细胞模拟中心``); not
    the common noun of "从实验室验证走向部署", whose word before ends in 从."""
    if _LATIN_ORGANISATION.search(text):
        return True
    for match in _ORGANISATION_WORD.finditer(text):
        before = _GLOSS.sub("", text[: match.start()]).rstrip()
        if before[-1:].isascii() and before[-1:].isalnum():
            return True
        run = _CJK_RUN.search(before)
        if run and len(run.group()) >= 2 and run.group()[-1] not in _CJK_FUNCTION:
            return True
    return False


_LATIN_OWNER = re.compile(r"(?:[A-Z][A-Za-z0-9&.-]*|[）)])\s*的\s*([\u4e00-\u9fff]{2})")
"""A Latin name owning a Chinese word: ``直觉外科（Intuitive Surgical）的达芬奇``."""


def _owned(text: str, names: Sequence[str], question: str) -> bool:
    """Whether ``text`` gives one of ``names`` an owner: a name before 的 or 's (``Google
    DeepMind 的 Veo 3``), a word qualifying it in a list (``、昆仑 SkyReels-V2``), or a Latin
    name owning what the question calls it in Chinese (``Intuitive Surgical）的达芬奇``)."""
    if any(match.group(1) in question for match in _LATIN_OWNER.finditer(text)):
        return True
    for name in names:
        at = re.escape(name)
        owner = re.search(
            r"([A-Za-z0-9][A-Za-z0-9&.-]*)\s*(?:的|['’]s)\s*" + at, text, re.IGNORECASE
        )
        if owner and owner.group(1).lower() != name:
            return True
        qualified = re.search(
            r"(?:^|[、，,；;\s])([\u4e00-\u9fff]{2,4})\s+" + at, text, re.IGNORECASE
        )
        if qualified and qualified.group(1)[-1] not in _CJK_FUNCTION:
            return True
    return False


def credits_maker(unit: Unit, names: Sequence[str], question: str) -> bool:
    """Whether ``unit`` says who made one of ``names`` (lower-cased names the question
    uses; anything, when it names nothing)."""
    shown = unit.shown_with_lead()
    if not unit.about_any(names):
        return False
    if _WHO_ASKED.search(question) and AUTHORS.search(shown):  # a paper's authors made it
        return True
    return bool(
        _organisation_named(shown)
        or _MAKER.search(LINK_MARK.sub(" ", shown))
        or _owned(f"{unit.before} {shown}", names, question)
    )
