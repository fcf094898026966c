"""Every user-facing sentence, in Simplified Chinese, with named placeholders.

Wording is reviewed here and nowhere else. Placeholders are filled with
`str.format(**values)`; values that come from users must be HTML-escaped by the caller
before they are put into text sent with parse_mode=HTML.
Sections: settings & start-up, knowledge answers, matcher actions, tickets (desk),
ledger, reminders, errors.
"""

# --- settings & start-up -------------------------------------------------------------
SETTINGS_INVALID = "设置有误：{detail}。请检查环境变量或 .env 文件。"
TOKEN_MISSING = (
    "未设置 TELEGRAM_BOT_TOKEN：请在环境变量或 .env 中设置机器人令牌后再启动；"
    "不接 Telegram 也可以用 `steward ask \"环评要什么材料\"` 试用知识库。"
)
KB_INVALID = "知识库有误，机器人不启动：\n{problems}"
KB_VALID = "知识库检查通过：{items} 个事项，{topics} 个通用主题，{departments} 个部门。"

# --- knowledge answers ----------------------------------------------------------------
ANSWER_TITLE = "<b>{short}</b>（{name}）· {aspect}"
ASPECT = {
    "materials": "所需材料",
    "department": "责任部门",
    "time_limit": "办理时限",
    "process": "办理流程",
    "fee": "收费",
    "tolerance": "容缺受理",
    "status": "办理进度",
    "other": "事项说明",
}
MATERIAL_LINE = "{n}. {name}{deferrable}{note}"
MATERIAL_DEFERRABLE = "〔可容缺〕"
MATERIAL_NOTE = "（{note}）"
DEPARTMENT_LINE = "责任部门：{department}"
DEPARTMENT_DETAIL_WINDOW = "窗口：{window}"
DEPARTMENT_DETAIL_PHONE = "电话：{phone}"
DEPARTMENT_DETAIL_HOURS = "时间：{hours}"
DEPARTMENT_DETAIL_ONLINE = "网上办：{online}"
APPLY_AT_LINE = "办理渠道：{apply_at}"
LEVEL_LINE = "审批层级：{levels}"
TIME_PROMISED_AND_STATUTORY = "承诺 {promised} 个工作日（法定 {statutory} 个工作日）"
TIME_PROMISED_ONLY = "承诺 {promised} 个工作日"
TIME_SAME_DAY = "即来即办，当天办结"
TIME_SAME_DAY_WITH_STATUTORY = "即来即办，当天办结（法定 {statutory} 个工作日）"
TIME_UNKNOWN = "时限以部门窗口告知为准"
TIME_LINE = "时限：{time}"
TIME_NOTE = "说明：{note}"
FEE_LINE = "收费：{fee}"
FEE_UNKNOWN = "收费：以部门窗口告知为准"
PREREQUISITES_LINE = "前置条件：{prerequisites}"
PREREQUISITES_NONE = "前置条件：无特别前置，取得项目代码后即可申请"
PARALLEL_YES = "可并联审批：是，可与其他事项同步办理"
PARALLEL_NO = "可并联审批：否，需按顺序办理"
MATERIALS_SUMMARY = "材料：{total} 项（其中可容缺 {deferrable} 项），问“{short}要什么材料”可看清单"
TOLERANCE_ITEMS_HEAD = "以下材料可容缺受理，签署《容缺受理承诺书》后先受理、限期补交："
TOLERANCE_NONE = "该事项的材料均为必交材料，暂不适用容缺受理；如有特殊情况请联系项目管家。"
STATUS_NEEDS_LEDGER = "办理进度需要查项目台账，已转项目管家核实。"
FAQ_LEAD = "{answer}"
LEARNED_LEAD = "{answer}"
EXAMPLE_FOOTER = "<i>以上为示例信息，请以部门窗口最新要求为准。</i>"
TOPIC_DETAIL_LINE = "• {line}"
SEPARATOR = ""

# --- matcher actions ------------------------------------------------------------------
CLARIFY_PROMPT = "您是想问："
SMALLTALK_REPLY = "您好！我是项目管家助手，请直接说您想办的事项和问题，例如“环评要什么材料”“施工许可证去哪办”。"
HANDOFF_ACK = "已转项目管家，承诺{minutes}分钟内答复。"
HANDOFF_ACK_CLOSED = "已转项目管家。现在是非工作时间，将于{opens_at}开始计时，{minutes}分钟内答复。"
HANDOFF_CLI = "（无法自动回答：{reason}。在帮办群中会转给项目管家处理。）"
HANDOFF_REASON = {
    "no_match": "没有找到对应的审批事项",
    "low_confidence": "不能确定是哪个审批事项",
    "out_of_scope": "不属于项目审批事项",
    "status": "办理进度需要查项目台账",
    "empty": "消息里没有问题",
}
