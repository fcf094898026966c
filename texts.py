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
    '不接 Telegram 也可以用 `steward ask "环评要什么材料"` 试用知识库。'
)
KB_INVALID = "知识库有误，机器人不启动：\n{problems}"
KB_VALID = "知识库检查通过：{items} 个事项，{topics} 个通用主题，{departments} 个部门。"

# --- knowledge answers ----------------------------------------------------------------
ANSWER_TITLE = "<b>{short}</b>（{name}）· {aspect}"
ASPECT_JOINER = "、"  # between the aspects of one item answered together (「责任部门、办理时限」)
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
TOLERANCE_MARKED = "清单中标{mark}的材料可容缺受理，签署《容缺受理承诺书》后先受理、限期补交。"
TOLERANCE_NONE = "该事项的材料均为必交材料，暂不适用容缺受理；如有特殊情况请联系项目管家。"
FAQ_LEAD = "{answer}"
LEARNED_LEAD = "{answer}"
EXAMPLE_FOOTER = "<i>以上为示例信息，请以部门窗口最新要求为准。</i>"
TOPIC_DETAIL_LINE = "• {line}"

# --- matcher actions ------------------------------------------------------------------
CLARIFY_PROMPT = "您是想问："
SMALLTALK_REPLY = "您好！我是项目管家助手，请直接说您想办的事项和问题，例如“环评要什么材料”“施工许可证去哪办”。"
HANDOFF_ACK = "已转项目管家，承诺{minutes}分钟内答复。"
HANDOFF_ACK_CLOSED = "已转项目管家。现在是非工作时间，将于{opens_at}开始计时，{minutes}分钟内答复。"
HANDOFF_CLI = "（无法自动回答：{reason}。在帮办群中会转给项目管家处理。）"
HANDOFF_REASON = {
    "no_match": "没有找到对应的审批事项",
    "low_confidence": "不能确定是哪个审批事项",
    "doubt": "不能确定是哪个审批事项",
    "doubted_kept": "不能确定问的还是不是刚才那个事项",
    "out_of_scope": "不属于项目审批事项",
    "status": "办理进度需要查项目台账",
    "empty": "消息里没有问题",
    "told": "消息是在告知情况，没有提问",
    "request": "消息是请管家出面（催办、吹哨、协调），需要人来办",
}

# --- bot: commands, help, errors --------------------------------------------------------
START_PRIVATE = (
    "您好！我是<b>项目管家</b>助手，可以回答重大项目审批事项的问题：责任部门、材料清单、办理时限、前置条件等。\n"
    "直接发问题即可，例如：环评要什么材料？施工许可证去哪办？能评要多久？"
)
HELP_HELP_GROUP = (
    "<b>项目管家使用说明</b>\n"
    "• 直接在群里提问，例如“环评要什么材料”“施工许可证去哪办”，我会马上回答；\n"
    "• 我答不了的问题会转给项目管家，承诺{minutes}分钟内答复（工作时间）；\n"
    "• @我 或回复我的消息，我一定会看到。"
)
HELP_PRIVATE = START_PRIVATE
HELP_STAFF = (
    "<b>项目管家（工作人员）说明</b>\n"
    "• 回复工单卡片即可把答复转到企业所在的帮办群；\n"
    "• 工单卡片上的按钮：认领、转部门、关闭。\n"
    "• /escalate 工单号 部门：转给部门群（管家吹哨）；\n"
    "• /stats：响应统计；回复一条已转达的答复发 /learn，把它加入知识库。"
)
ERROR_GENERIC = "抱歉，处理您的消息时出了点问题，请稍后再试，或直接联系项目管家。"
CLARIFY_OPTION = "{short}（{aspect}）"
CLARIFY_UNKNOWN = "这个选项已失效，请重新提问。"
# Under a choice, in groups: none of the items offered is the one meant — a person answers (a ticket).
CLARIFY_NONE = "都不是，转人工"
CLARIFY_NONE_PRIVATE = "都不是"  # under a choice in a private chat, where no person takes questions
# The command menu registered at start-up, in this order.
BOT_COMMANDS = [
    ("help", "使用说明"),
    ("start", "开始使用"),
    ("stats", "响应统计（工作人员群）"),
    ("escalate", "转部门：/escalate 工单号 部门"),
    ("learn", "回复一条答复，加入知识库（管家）"),
    ("bind", "绑定本群到项目：/bind 项目代码（管理员）"),
    ("bind_dept", "绑定部门群：/bind_dept 部门（管理员）"),
    ("unbind", "解除本群绑定（管理员）"),
    ("profile", "本项目审批画像（/profile xlsx 附 Excel 表）"),
    ("progress", "本项目办理进度简报"),
    ("mute", "本群免打扰，停推台账提醒（管理员）"),
    ("unmute", "恢复台账提醒推送（管理员）"),
]

# --- ledger --------------------------------------------------------------------------
# Import errors: one line per problem; `reason` is LEDGER_REASONS[code] filled with the
# error's value and params.
LEDGER_ROW_ERROR = "第 {row} 行「{column}」：{reason}"
LEDGER_ROW_ERROR_NO_COLUMN = "第 {row} 行：{reason}"
LEDGER_FILE_ERROR = "文件：{reason}"
LEDGER_HEADER_ERROR = "表头「{column}」：{reason}"
LEDGER_REASONS = {
    "not_xlsx": "不是有效的 Excel（.xlsx）文件，可能是改了扩展名的文本文件或旧版 .xls，请用 Excel 另存为 .xlsx",
    "unsupported_file": "只支持 .xlsx 和 .csv 文件（收到 {value}）",
    "unreadable": "文件无法读取（{value}）",
    "empty_file": "文件是空的，找不到表头行",
    "no_rows": "只有表头，没有数据行",
    "unknown_header": "无法识别的列名「{value}」，请使用模板中的列名",
    "missing_header": "缺少必需的列",
    "duplicate_header": "与「{other}」是同一列，重复了",
    "required": "必填，不能为空",
    "unknown_status": "状态「{value}」无法识别，只能是：已办结、无需办理、办理中、未启动",
    "unknown_procedure": "手续「{value}」无法识别，请写手续名称（如 环评、用地预审与选址）或事项代码（如 eia）",
    "bad_date": "日期「{value}」无法识别，请写成 2026-03-05",
    "bad_start": "计划开工「{value}」无法识别，请写成 2027上半年、2027下半年 或一个日期",
    "bad_number": "「{value}」不是有效的数字",
    "negative": "不能为负数（{value}）",
    "bad_days": "承诺时限「{value}」应为 0 到 3650 之间的整数（工作日）",
    "finished_before_accepted": "办结日期「{value}」早于受理日期",
    "duplicate_row": "同一项目的手续「{value}」重复，第 {first_row} 行已有",
    "conflict": "「{value}」与本项目第 {first_row} 行填写的不一致",
    "too_long": "内容过长（最多 {limit} 个字）",
    # issue 11
    "missing_file": "文件 {value} 不存在",
    "not_a_file": "{value} 是一个文件夹，不是台账文件",
    "no_ledger_sheet": "工作簿里有多个工作表（{sheets}），请把台账所在的工作表命名为「{wanted}」",
    "corrupt_sheet": "工作表内容已损坏，无法读取（{value}），请用 Excel 打开后另存为 .xlsx",
    "cell_too_large": "单元格超过 131072 个字符，可能是引号没有闭合或文件不是台账",
    "unclosed_quote": "引号没有闭合（从这一行起的内容被当成了一个单元格），请检查英文双引号",
    "bad_csv": "CSV 格式有误（{value}）",
    "date_out_of_range": "日期「{value}」不在 2000-01-01 到 2100-12-31 之间，请检查是否填错",
    "date_is_time": "「{value}」是一个时刻而不是日期（Excel 中的 0 或纯时间），请写成 2026-03-05",
    "date_in_future": "日期「{value}」晚于今天，受理和办结日期不能是将来的日期",
    "start_out_of_range": "计划开工「{value}」的年份不在 2000 到 2100 之间，请写成 2027上半年 这样的形式",
    "dates_not_allowed": "状态为「{status}」时不应填写日期（{value}），请核对状态或删去日期",
    "finished_required": "状态为已办结时必须填写办结日期",
    "finished_while_in_progress": "状态为办理中却填写了办结日期「{value}」，请核对状态",
    "unknown_department": "责任部门「{value}」不在知识库的部门名单中（departments.yaml），请写部门全称或常用简称",
    "example_row": "这是模板自带的示例行，请改写成真实项目或删除后再导入",
    "code_as_number": "项目代码「{value}」是数字格式，Excel 只保留数字的前 15 位，后面几位已经变了；"
    "请把项目代码列设为文本格式，重新填写正确的代码后再导入",
    "investment_too_large": "总投资「{value}」亿元超过 5000 亿元，不合常理；如果填的是万元，请除以 10000 换算成亿元"
    "（列名写「总投资(亿元)」）",
    "formula_without_value": "单元格 {value} 是公式，但没有计算结果（文件可能由程序生成），"
    "请用 Excel/WPS 打开保存后再导入",
}
LEDGER_IMPORT_FAILED = "台账未导入（一行也没有写入），共发现 {count} 处问题："
LEDGER_IMPORT_FAILED_SHEET = "台账未导入（一行也没有写入），工作表「{sheet}」中共发现 {count} 处问题："
LEDGER_SHEET_PREFIX = "工作表「{sheet}」"
LEDGER_ERRORS_MORE = "……另有 {count} 处问题未列出；用 --errors 文件名.xlsx 可导出全部问题。"
LEDGER_ERRORS_WRITTEN = "全部 {count} 处问题已写入 {path}（原样保留出错的行，最后一列是原因）。"
LEDGER_ERRORS_SHEET = "问题"
LEDGER_ERRORS_ROW_HEADER = "行号"
LEDGER_ERRORS_REASON_HEADER = "问题"
LEDGER_IMPORT_DONE = (
    "台账导入完成：共 {rows} 行。项目 新增 {projects_created}、更新 {projects_updated}、"
    "未变 {projects_unchanged}；手续 新增 {procedures_created}、更新 {procedures_updated}、"
    "未变 {procedures_unchanged}。"
)
LEDGER_EXPORT_DONE = "已导出台账 {rows} 行到 {path}"
LEDGER_TEMPLATE_DONE = "已生成台账模板：{path}（含表头、状态下拉框和一行示例，示例行可直接改写）"
LEDGER_PROGRESS_IMPORT = "读取"
LEDGER_PROGRESS_EXPORT = "导出"
LEDGER_PROJECT_NOT_FOUND = "台账里没有项目代码为 {code} 的项目。"
LEDGER_BAD_DEADLINE_SETTING = "截止日期设置「{value}」格式不对，应为 MM-DD，如 03-31。"

# Report (steward ledger report, the weekly report).
LEDGER_REPORT_TITLE = "重大项目前期手续办理情况"
LEDGER_REPORT_OVERALL = (
    "共 {projects} 个项目，手续全部办结的 {projects_complete} 个，项目办结率 {project_rate}；"
    "手续 {procedures} 项，已办结 {procedures_done} 项、无需办理 {procedures_not_needed} 项，"
    "手续办结率 {procedure_rate}（无需办理视同办结）。"
)
LEDGER_REPORT_GROUP = (
    "{name}：项目 {projects} 个，全部办结 {projects_complete} 个（{project_rate}）；"
    "手续 {procedures} 项，办结率 {procedure_rate}"
)
LEDGER_REPORT_BY_REGION = "分旗县区："
LEDGER_REPORT_BY_SECTOR = "分领域："
LEDGER_REPORT_OVER_1BN = "10亿元以上项目"
LEDGER_RATE = "{rate}%"
LEDGER_RATE_NONE = "—"

# Profile and progress.
LEDGER_PROFILE_SHEET = "审批画像"
LEDGER_PROFILE_TITLE = "项目审批画像表：{name}"
LEDGER_HALF = {1: "{year}年上半年", 2: "{year}年下半年"}
LEDGER_PROFILE_LABELS = {
    "code": "项目代码",
    "enterprise": "建设单位",
    "region": "旗县区",
    "sector": "领域",
    "investment": "总投资(亿元)",
    "start": "计划开工",
    "steward": "项目管家",
    "deadline": "应批尽批截止日",
    "days_left": "距截止",
    "progress": "办理进度",
    "as_of": "统计日期",
}
LEDGER_PROFILE_COLUMNS = (
    "手续",
    "状态",
    "责任部门",
    "受理日期",
    "承诺时限(工作日)",
    "到期日",
    "剩余工作日",
    "办结日期",
    "待备材料",
    "备注",
)
LEDGER_DAYS_LEFT = "{days} 天（{working_days} 个工作日）"
LEDGER_PROGRESS_COUNTS = "已办结 {done}，无需办理 {not_needed}，办理中 {in_progress}，未启动 {not_started}"
LEDGER_STATUS_OVERDUE = "{status}（已超期）"
LEDGER_PROFILE_HEADER = (
    "【项目审批画像】{name}（{code}）\n建设单位：{enterprise}　旗县区：{region}　领域：{sector}\n"
    "总投资：{investment} 亿元　计划开工：{start}　项目管家：{steward}\n"
    "应批尽批截止：{deadline}，{days_text}\n办理进度：{counts}"
)
LEDGER_DEADLINE_AHEAD = "还有 {days} 天（{working_days} 个工作日）"
LEDGER_DEADLINE_TODAY = "今天截止"
LEDGER_DEADLINE_PASSED = "已过期 {days} 天"
LEDGER_PROFILE_LINE = "{index}. {name}：{status}　{department}{dates}"
LEDGER_PROFILE_ACCEPTED = "　受理 {accepted}"
LEDGER_PROFILE_DUE = "　到期 {due}（剩 {left} 个工作日）"
LEDGER_PROFILE_DUE_OVERDUE = "　到期 {due}（已超期 {days} 个工作日）"
LEDGER_PROFILE_FINISHED = "　办结 {finished}"
LEDGER_PROFILE_MATERIALS = "　　待备材料：{materials}"
LEDGER_PROFILE_XLSX_DONE = "画像表已写入 {path}"
LEDGER_PROGRESS_SHORT = (
    "【办理进度】{name}：已办结 {done}、无需办理 {not_needed}、办理中 {in_progress}、"
    "未启动 {not_started}（共 {total} 项）。应批尽批截止 {deadline}，{days_text}。"
)
LEDGER_STATUS_ANSWER = "「{item}」：{status}。责任部门：{department}。{dates}"
LEDGER_STATUS_ACCEPTED = "{accepted} 受理，"
LEDGER_STATUS_DUE = "承诺 {due} 前办结（还剩 {left} 个工作日）。"
LEDGER_STATUS_DUE_OVERDUE = "承诺 {due} 前办结，已超期 {days} 个工作日。"
LEDGER_STATUS_FINISHED = "{finished} 办结。"

# Reminders (scheduler.reminders, rendered by scheduler.reminder_text).
REMINDER_DEADLINE = "⏰【应批尽批提醒】{name}距 {deadline} 截止还有 {days} 天，以下 {count} 项手续尚未办结："
REMINDER_DEADLINE_PASSED = "⚠️【应批尽批已逾期】{name}已过 {deadline} 截止日 {days} 天，以下 {count} 项手续仍未办结："
REMINDER_OVERDUE = "⚠️【超期提醒】{name}以下 {count} 项手续已超过承诺时限："
REMINDER_DEPARTMENT = "📋【本部门待办手续】超期 {overdue} 项，{soon_days} 个工作日内到期 {soon} 项："
REMINDER_DEPARTMENT_OVERDUE = "超期："
REMINDER_DEPARTMENT_SOON = "即将到期："
REMINDER_DIGEST = (
    "📊【管家日报】超期手续 {overdue} 项，即将到期 {soon} 项；30 天内到截止日的项目 {near} 个，"
    "已过截止日仍未办结的项目 {past} 个。"
)
REMINDER_DIGEST_NEAR = "临近截止："
REMINDER_DIGEST_PAST = "已过截止："
REMINDER_LINE_OPEN = "· {item}：{status}{due}"
REMINDER_LINE_DUE = "（到期 {due}）"
REMINDER_LINE_PROCEDURE = "· {project}｜{item}：到期 {due}{left}"
REMINDER_LEFT = "，剩 {left} 个工作日"
REMINDER_OVER = "，超期 {days} 个工作日"
REMINDER_LINE_PROJECT = "· {name}（{code}）：截止 {deadline}，未办结 {open} 项{steward}"
REMINDER_STEWARD = "，管家 {steward}"
REMINDER_MORE = "……另有 {count} 项"

# --- desk -----------------------------------------------------------------------------
# Tickets, relaying, escalation, the response clock and its numbers. Values marked
# "user text" are HTML-escaped by desk.render before formatting.
DESK_STATUS = {
    "open": "待认领",
    "claimed": "处理中",
    "escalated": "已转部门",
    "answered": "已答复",
    "resolved": "已解决",
    "closed": "已关闭",
}
DESK_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DESK_TIME = "{month}月{day}日（{weekday}）{hour:02d}:{minute:02d}"
DESK_DURATION_MINUTES = "{minutes}分钟"
DESK_DURATION_HOURS = "{hours}小时{minutes}分钟"
DESK_DURATION_UNDER_MINUTE = "不到1分钟"
DESK_NONE = "—"
DESK_PROJECT_UNBOUND = "（未绑定项目）"
DESK_HOLDER_NOBODY = "待认领"
DESK_HOLDER_DEPARTMENT_PERSON = "{department}（{name}）"
DESK_STEWARDS = "项目管家"
DESK_CARD = (
    "🎫 <b>工单 #{ticket_id}</b>　{status}\n"
    "项目：{project}\n"
    "提问人：{asker}　{asked_at}\n"
    "问题：{question}\n"
    "{clock}\n"
    "处理：{holder}"
)
DESK_CARD_CANDIDATES = "知识库猜测：{candidates}"
DESK_CARD_EARLIER = "此前在问：{item}（这条不确定还是问它）"
DESK_CARD_HINT_STEWARD = "回复本消息即答复企业；也可点下方按钮认领、转部门或关闭。"
DESK_CARD_HINT_DEPARTMENT = "回复本消息即答复企业，答复会以贵单位名义转到项目帮办群。"
DESK_ESCALATION_HEAD = "📣 <b>管家吹哨</b>：请{department}协助答复以下问题。"
DESK_ESCALATION_NOTE = "管家留言：{note}"
DESK_CLOCK_LEFT = "⏱ 剩余{left}（工作时间），{due}前答复"
DESK_CLOCK_PAUSED = "⏸ 非工作时间，{opens_at}起计时，{due}前答复"
DESK_CLOCK_OVERDUE = "⚠️ 已超时{over}（应于{due}前答复）"
DESK_CLOCK_ANSWERED = "✅ {at}首次答复，用时{took}"
DESK_CLOCK_ANSWERED_LATE = "☑️ {at}首次答复，用时{took}，已超时"
DESK_CLOCK_CLOSED_UNANSWERED = "未答复即关闭"
DESK_THREAD_HEAD = "往来记录："
DESK_THREAD_IN = "🙋 {at} {author}：{text}"
DESK_THREAD_OUT = "💬 {at} {author}：{text}"
DESK_WARNING = (
    "⏰ 工单 #{ticket_id} 还剩{left}（工作时间）到期，请{holder}尽快答复。\n项目：{project}\n问题：{question}"
)
DESK_BREACH_ALERT = (
    "🚨 <b>超时未响应</b>　工单 #{ticket_id}\n"
    "项目：{project}\n"
    "提问人：{asker}　{asked_at}\n"
    "问题：{question}\n"
    "应答时限：{due}\n"
    "当时处理：{holder}"
)
# Several alerts for one chat in one sweep: one message (split at Telegram's limit).
DESK_DIGEST_BREACH_HEAD = "🚨 <b>超时未响应</b>　本轮共{count}张工单"
DESK_DIGEST_WARNING_HEAD = "⏰ <b>即将到期</b>　{count}张工单，请尽快答复"
DESK_DIGEST_CONTINUED = "（续，第{part}条）"
DESK_DIGEST_BREACH_ITEM = (
    "工单 #{ticket_id}　项目：{project}\n"
    "　提问人：{asker}　{asked_at}\n"
    "　问题：{question}\n"
    "　应答时限：{due}　处理：{holder}"
)
DESK_DIGEST_WARNING_ITEM = (
    "工单 #{ticket_id}　还剩{left}（工作时间）　项目：{project}\n　问题：{question}\n　处理：{holder}"
)
DESK_DIGEST_HINT = "请在各工单的卡片上回复，即答复企业。"
DESK_BREACH_NOTICE = "🚨 工单 #{ticket_id} 已超过响应时限（{due}），已报告专班，请{holder}立即答复。"
DESK_RELAYED_ANSWER = "💬 {responder}答复：\n{answer}"
DESK_RELAY_CONFIRM = "✅ 已转达至「{project}」帮办群（工单 #{ticket_id}）。"
DESK_RELAY_CONFIRM_FIRST = "✅ 已转达至「{project}」帮办群（工单 #{ticket_id}），首次响应用时{took}。"
DESK_RELAY_CONFIRM_FIRST_LATE = "✅ 已转达至「{project}」帮办群（工单 #{ticket_id}），首次响应用时{took}，已超时。"
DESK_RELAY_FAILED = "❌ 工单 #{ticket_id} 的答复未能发到帮办群（机器人可能已被移出），请直接联系企业。"
DESK_FOLLOW_UP_NOTICE = "🔔 工单 #{ticket_id} 企业追问（{asker}）：\n{text}"
DESK_FOLLOW_UP_REOPENED = "🔔 工单 #{ticket_id} 答复后企业又追问（{asker}），已重新打开：\n{text}"
DESK_FOLLOW_UP_ACK = "已补充到工单 #{ticket_id}，会一并转给处理人。"
DESK_CLAIMED = "👤 {name}已认领工单 #{ticket_id}。"
DESK_ESCALATED = "📣 工单 #{ticket_id} 已转{department}。"
DESK_RESOLVED = "工单 #{ticket_id} 已解决。"
DESK_CLOSED = "工单 #{ticket_id} 已关闭。"
DESK_BOUND_HELP = "本群已绑定为项目「{project}」的帮办服务群。"
DESK_BOUND_DEPARTMENT = "本群已绑定为「{department}」的部门群，管家转来的问题会发到这里。"
DESK_UNBOUND = "本群已解除绑定。"
DESK_THROTTLED = "消息太频繁了，请稍等{seconds}秒再发。"
DESK_ERR_NOT_FOUND = "找不到工单 #{ticket_id}。"
DESK_ERR_PERMISSION = "您无权进行此操作。"
DESK_ERR_TRANSITION = "工单 #{ticket_id} 当前为「{status}」，不能改为「{to}」。"
DESK_ERR_ALREADY_CLAIMED = "工单 #{ticket_id} 已由{name}认领。"
# Two stewards escalated the ticket at the same moment: the other one's went through first, this one did nothing.
DESK_ERR_CHANGED_DEPARTMENT = (
    "工单 #{ticket_id} 刚刚已由他人转交「{department}」，您这次的转交没有执行；如仍需转交，请再操作一次。"
)
DESK_ERR_CHANGED = "工单 #{ticket_id} 刚刚已被他人处理（现为「{status}」），您这次的操作没有执行，请查看最新卡片。"
DESK_ERR_DEPARTMENT_NOT_BOUND = "「{department}」还没有部门群：请管理员在该部门群发送 /bind_dept {key}。"
DESK_ERR_CHAT_NOT_BOUND = "本群尚未绑定。"
DESK_ERR_UNKNOWN_PROJECT = "台账中没有项目代码「{code}」，请核对后再绑定。"
DESK_ERR_UNKNOWN_DEPARTMENT = "没有这个部门：「{key}」。"
DESK_ERR_EMPTY_ANSWER = "答复内容是空的。"
DESK_ERR_NOT_A_CARD = (
    "这条是转达确认，不是工单卡片，您的回复没有转给企业。要补充工单 #{ticket_id} 的答复，请回复它的工单卡片。"
)
DESK_STATS_TITLE = "📊 响应统计（{period}）"
DESK_STATS_PERIOD_ALL = "全部"
DESK_STATS_PERIOD_DAYS = "近{days}天"
DESK_STATS_SUMMARY = (
    "新建工单 {opened} 件：按时答复 {in_time} 件，超时 {breached} 件（其中超时后答复 {late} 件），"
    "计时中 {pending} 件，未答复即关闭 {closed_early} 件。\n"
    "按时响应率 {compliance}；首次响应用时中位数 {median}，90分位 {p90}（工作时间）。"
)
DESK_STATS_GROUP_LINE = (
    "· {label}：{opened} 件，按时 {in_time}，超时 {breached}，按时率 {compliance}，中位 {median}，90分位 {p90}"
)
DESK_STATS_BY_DEPARTMENT = "分部门："
DESK_STATS_BY_STEWARD = "分管家（按首次答复人）："
DESK_STATS_QUESTIONS = (
    "机器人答问：共 {questions} 个问题，自动答复 {auto} 个（{rate}），请企业澄清 {clarified} 个，转人工 {handed} 个。"
)
DESK_STATS_TOP_HANDOFFS = "最常转人工或没把握的问题（建议补进知识库）："
DESK_STATS_TOP_LINE = "{rank}. {text}（{count}次）"
DESK_PERCENT = "{value:.1f}%"

# --- tickets (telegram) ---------------------------------------------------------------
# Buttons, prompts and commands of the ticket handlers (handlers/tickets*.py).
TICKET_BUTTON_CLAIM = "认领"
TICKET_BUTTON_ESCALATE = "转部门"
TICKET_BUTTON_CLOSE = "关闭"
TICKET_BUTTON_BACK = "↩ 返回"
FEEDBACK_SOLVED = "已解决"
FEEDBACK_UNSOLVED = "没解决，转人工"
FEEDBACK_THANKS = "感谢反馈！"
FEEDBACK_NO_QUESTION = "找不到原来的问题，请直接再问一次。"
TICKET_PRIVATE_HANDOFF = "这个问题需要项目管家人工答复，请在您项目的帮办服务群里提问，管家会在群里答复您。"
TICKET_CHOOSE_DEPARTMENT = "请选择要转给哪个部门（管家吹哨）。"
TICKET_NO_DEPARTMENTS = "还没有绑定任何部门群：请管理员在部门群里发送 /bind_dept 部门名称。"
TICKET_ESCALATE_USAGE = "用法：/escalate 工单号 部门，例如 /escalate 12 生态环境局"
TICKET_BIND_USAGE = "用法：在帮办群里发送 /bind 项目代码，例如 /bind P001"
TICKET_BIND_DEPT_USAGE = "用法：在部门群里发送 /bind_dept 部门，例如 /bind_dept 生态环境局。可用的部门：{departments}"
TICKET_LEARN_USAGE = "请回复一条已转达的答复（或工单卡片）再发 /learn。"
TICKET_LEARNED = "📚 已加入知识库：以后再有人问「{question}」，会自动答复。"
TICKET_STAFF_ONLY = "这个命令只能在工作人员群里使用。"

# --- ledger (telegram) -----------------------------------------------------------------
LEDGER_BOT_GROUP_ONLY = "请在项目帮办群里使用这个命令，机器人会显示本群所绑定项目的台账。"
LEDGER_BOT_UNBOUND = "本群还没有绑定台账中的项目，暂时查不到办理进度。请管理员在本群发送 /bind 项目代码 完成绑定。"
LEDGER_BOT_PROJECT_MISSING = "本群绑定的项目「{code}」在台账中找不到，请联系项目管家核对台账。"
LEDGER_BOT_PROFILE_USAGE = (
    "用法：/profile 查看本项目审批画像，/profile xlsx 同时发送 Excel 画像表；/progress 查看办理进度简报。"
)
LEDGER_BOT_STAFF_USAGE = "在工作人员群里请写上项目代码，例如 /profile P001、/profile P001 xlsx 或 /progress P001。"
LEDGER_BOT_PROFILE_FILENAME = "审批画像_{code}_{today}.xlsx"
LEDGER_BOT_PROFILE_CAPTION = "项目审批画像表：{name}（统计日期 {today}）"
LEDGER_BOT_STATUS = "{answer}\n（据项目台账，截至 {today}；如有出入请@项目管家核实。）"
LEDGER_BOT_MUTED = "本群已设为免打扰，台账提醒不再推送到本群。发送 /unmute 可恢复。"
LEDGER_BOT_UNMUTED = "本群已恢复台账提醒推送。"
LEDGER_BOT_MUTE_DENIED = "只有管理员可以设置免打扰。"
LEDGER_BOT_MUTE_NOT_BOUND = "本群尚未绑定为帮办群或部门群，无需设置免打扰。"
LEDGER_CHART_CAPTION = "📊 前期手续办结率：分旗县区、分领域（蓝：项目办结率，橙：手续办结率，无需办理视同办结）"
LEDGER_CHART_LEGEND = "图中代号：{items}"
LEDGER_CHART_LEGEND_ITEM = "{code}={name}"
# Chart labels: Chinese when the machine has a CJK font, else English (never tofu boxes).
LEDGER_CHART_CJK = {
    "title": "前期手续办结情况：项目办结率 {project_rate:.1f}%，手续办结率 {procedure_rate:.1f}%",
    "by_region": "分旗县区",
    "by_sector": "分领域",
    "projects": "项目办结率",
    "procedures": "手续办结率",
    "axis": "%",
    "empty": "暂无数据",
}
LEDGER_CHART_LATIN = {
    "title": "Completion: projects {project_rate:.1f}%, procedures {procedure_rate:.1f}%",
    "by_region": "By region",
    "by_sector": "By sector",
    "projects": "Projects complete",
    "procedures": "Procedures done or not needed",
    "axis": "%",
    "empty": "no data",
}
LEDGER_PROGRESS_WRITE = "写入"
LEDGER_WRITE_FAILED = "无法写入文件 {path}：{reason}"

# --- tickets (telegram): delivery problems and mentions ----------------------------------
TICKET_ESCALATION_UNDELIVERED = (
    "⚠️ 工单 #{ticket_id} 已转{department}，但未能发到该部门群（机器人可能已被移出）。"
    "请改转其他部门，或直接回复工单卡片答复企业。"
)
TICKET_FEEDBACK_ALREADY = "这个问题已转人工（工单 #{ticket_id}），请稍候。"
DESK_HOLDER_MENTION = '👉 <a href="tg://user?id={user_id}">{name}</a>'

# --- issue 7: understanding (command line) ---------------------------------------------------------------
CLI_GUARD_WRITTEN = "已写入 {path}（{count} 条）"
CLI_ASK_EMPTY = '请给出问题，例如：steward ask "环评要什么材料"'

# --- issue 11: the developer reports (steward eval, kb train, eval --diff) in the bot's language ------------
# Item keys, intents and actions (eia, materials, handoff …) are identifiers and stay as they are; `--json`
# keeps its English keys.
EVAL_REPORT = (
    "问题数：{questions}\n"
    "事项准确率：{item_accuracy}%\n"
    "  （澄清算错时：{item_accuracy_without_clarify}%）\n"
    "意图准确率：{intent_accuracy}%\n"
    "自动答复率：{auto_answer_rate}%\n"
    "自动答错率：{wrong_auto_answer_rate}%\n"
    "  （占已自动答复：{wrong_of_answered_rate}%）\n"
    "超范围转人工率：{out_of_scope_handoff_rate}%（{oos_handed_off}/{oos_total}）\n"
    "一句多问全部读对：{several_asks_accuracy}%（{asks_correct}/{asks_total}）\n"
    "耗时 p50 / p99：{latency_p50_ms} 毫秒 / {latency_p99_ms} 毫秒"
)
EVAL_UNMENTIONED = "群里不@机器人也回复的提问：{replied_unmentioned_rate}%（{replied_unmentioned}/{asking}）"
EVAL_ERROR_LINE = "[{style}] {question}：应为 {want_item}/{want_intent}，实为 {got_item}/{got_intent}（{action}）"
EVAL_SET_HEADING = "== {name}"
EVAL_DONE = "（{count} 个问题，用时 {seconds} 秒）"
TRAIN_DONE = "用 {examples} 条样本训练，用时 {seconds} 秒；指纹 {fingerprint}；两次训练结果一致：{repeatable}"
TRAIN_WRITTEN = "模型已写入 {path}（指纹 {fingerprint}）；启动时数据未变就直接读取它，不再训练"
TRAIN_REPEATABLE_YES = "是"
TRAIN_REPEATABLE_NO = "否"
TRAIN_TEST_SPLIT_HEADING = "== 从未训练过的测试集（{count} 个问题）"
TRAIN_FOLDS_HEADING = "== 全部 {count} 个标注问题的 {folds} 折交叉验证（对话轮次只训练意图）"
TRAIN_BY_SET_HEADING = "== 逐套留出：{sets} 套盲测集的 {count} 个问题，每套用其余各套训练的模型评分"
TRAIN_SET_LINE = (
    "  {source}：{questions} 个问题，事项 {item_accuracy}%，意图 {intent_accuracy}%，自动答复 {auto_answer_rate}%，"
    "答错 {wrong_auto_answer_rate}%（占已答复 {wrong_of_answered_rate}%），超范围转人工 {out_of_scope_handoff_rate}%"
)
GATE_REPLAYED = "重放 {sets} 套读过的对话集：{turns} 个后续问题交到了后续问题模型（规则转人工、没有事项），其中 {earlier} 个是在问上一轮的事项"
GATE_FOLDS_LINE = (
    "  {label}：概率 ≥ {threshold} 的 {taken} 个，其中问上一轮事项的 {right} 个，不是的 {wrong} 个（{share}%）"
)
GATE_FOLDS_LABEL = "按对话 {folds} 折交叉验证"
GATE_TEST_LABEL = "从未训练的测试轮次（{turns} 个）"
DOUBT_REPLAYED = "重放 {sets} 套读过的对话集：{answers} 个后续问题沿用上一轮的事项作答（训练部分），其中答错 {wrong} 个"
DOUBT_REPLAYED_SWITCHED = (
    "重放 {sets} 套读过的对话集：{answers} 个后续问题换成了消息里提到的另一个事项作答（训练部分），其中答错 {wrong} 个"
)
DOUBT_LINE = "  {label}：概率 ≥ {threshold} 的 {taken} 个改为让用户选择，其中原本答错 {wrong} 个、答对 {right} 个（答错的 {caught}% 被拦下）"
DOUBT_HANDOFF_LINE = (
    "  {label}：概率 ≥ {threshold} 的 {taken} 个不再让用户选择，改为转人工，其中原本答错 {wrong} 个、答对 {right} 个"
)
DOUBT_TEST_LABEL = "从未训练的测试回答（{answers} 个）"
GATE_FILE_CURRENT = "{path} 与重放结果一致（{count} 条）"
GATE_FILE_STALE = "{path} 与重放结果不一致：文件 {had} 条，重放 {now} 条；用 --write 重写"
QUESTIONS_READ = "读过的数据中没有问句标记的消息 {turns} 条（训练部分），其中提问 {asks} 条，其余是闲聊"
QUESTIONS_LINE = "  {label}：概率 ≥ {threshold}：认出提问 {caught}/{asks}（{caught_rate}%），闲聊误认为提问 {taken}/{chatter}（{taken_rate}%）"
QUESTIONS_FOLDS_LABEL = "5 折交叉验证"
QUESTIONS_TEST_LABEL = "从未训练的测试消息（{turns} 条）"
QUESTIONS_SCORE = (
    "{path}：提问 {asks} 条，读作提问：只看问句标记 {marked}（{marked_rate}%），加上模型 {read}（{read_rate}%）；"
    "闲聊 {chatter} 条，误认为提问：只看问句标记 {marked_chatter}（{marked_chatter_rate}%），"
    "加上模型 {read_chatter}（{read_chatter_rate}%）"
)
QUESTIONS_FILE_CURRENT = "{path} 与读过的数据一致（{count} 条）"
QUESTIONS_FILE_STALE = "{path} 与读过的数据不一致：文件 {had} 条，现在 {now} 条；用 --write 重写"
GUARD_FLIP_KINDS = {"right→wrong": "对→错", "wrong→right": "错→对"}
GUARD_FLIP_ACCEPTED = "（已接受）"
GUARD_FLIP = (
    "{kind}{accepted} [{set_name}:{n}] {question}：原为 {was_item}/{was_intent}（{was_action}），"
    "现为 {now_item}/{now_intent}（{now_action}）"
)
GUARD_SUMMARY = "共 {flips} 个翻转：错→对 {fixed} 个，对→错 {broken} 个（其中 {refused} 个未接受）"

# --- issue 10: the desk under a hostile or careless chat ---------------------------------
DESK_RELAYED_CORRECTION = "💬 {responder}答复（已修改）：\n更正：{answer}"
DESK_CORRECTION_CONFIRM = "✏️ 更正已转达至「{project}」帮办群（工单 #{ticket_id}）。"
EDITED_COMMAND_IGNORED = "修改过的命令不会再次执行；如需执行，请重新发送命令。"
LEDGER_DEADLINE_UNKNOWN = "计划开工时间有误，无法计算（请核对台账）"
TICKET_LEARN_SCOPE_PROMPT = "📚 把这条答复加入知识库。它适用于哪些项目？\n问：{question}"
TICKET_LEARN_SCOPE_ALL = "所有项目"
TICKET_LEARN_SCOPE_PROJECT = "仅本项目（{project}）"
TICKET_LEARNED_FOR_PROJECT = "📚 已加入知识库，仅用于「{project}」帮办群：以后该群再有人问「{question}」，会自动答复。"

# --- issue 11: the command line and operator data --------------------------------------
CLI_FOLDER_MISSING = "无法写入文件 {path}：文件夹 {folder} 不存在（不会自动创建，请先建好文件夹）"
CLI_PATH_IS_FOLDER = "无法写入文件 {path}：这是一个文件夹，请写上文件名，如 {path}/结果.xlsx"
LEDGER_PRUNE_WOULD_ARCHIVE = (
    "文件中没有以下 {count} 个项目，加上 --prune 导入会将它们归档（不再统计和提醒，历史保留）："
)
LEDGER_PRUNE_NEEDS_YES = "未导入：确认归档请再加 --yes 重新运行。"
LEDGER_ARCHIVED = "已归档 {count} 个项目（不再计入统计和提醒，历史保留，再次导入即恢复）："
LEDGER_ALREADY_ARCHIVED = "另有 {count} 个项目此前已归档。"
LEDGER_CODES_MORE = "  ……另有 {count} 个"
LEDGER_IMPORT_RESTORED = "其中 {count} 个已归档的项目因本次导入重新纳入台账。"
LEDGER_WRITE_KIND = "无法写入文件 {path}：只能写 .xlsx 或 .csv 文件，请改扩展名"
LEDGER_TEMPLATE_CSV_DONE = "已生成台账模板：{path}（CSV，含表头和一行示例，UTF-8 编码可直接用 Excel 打开）"
CLI_NO_DATABASE = (
    "数据库 {url} 还不存在或还是空的，没有可读的数据（先用 steward ledger import 导入台账，或检查 DATABASE_URL）。"
)
CLI_DATABASE_UNREACHABLE = "无法连接数据库 {url}：{reason}（请检查 DATABASE_URL 和数据库是否已启动）"
CLI_USAGE_PREFIX = "用法："
CLI_POSITIONALS = "参数"
CLI_OPTIONALS = "选项"
CLI_HELP_HELP = "显示本帮助并退出"
CLI_DESCRIPTION = "项目管家 Steward：知识库、项目台账和响应统计的命令行工具"
CLI_ARG_ERROR = "{prog}：{message}（用 {prog} --help 查看用法）"
CLI_ARG_ERRORS = {
    "required": "缺少参数 {names}",
    "unrecognized": "无法识别的参数 {names}",
    "choice": "「{value}」不是可用的命令或选项，可选：{choices}",
    "value": "参数 {arg} 的值「{value}」无效",
    "one_value": "参数 {arg} 后面需要一个值",
    "argument": "参数 {arg}：{detail}",
}
CLI_FILE_ERROR = "无法读写文件 {path}：{reason}"
CLI_OS_NOT_FOUND = "文件或文件夹不存在"
CLI_OS_IS_FOLDER = "这是一个文件夹，不是文件"
CLI_OS_NOT_FOLDER = "路径中有一段不是文件夹"
CLI_OS_DENIED = "没有权限"
CLI_DAYS_INVALID = "「{value}」不是 1 到 {most} 之间的整数天数"
DATABASE_NEWER = (
    "数据库版本比本程序新（{detail}）：数据库已被更新版本的程序升级过，请改用新版本程序，"
    "或把 DATABASE_URL 指向本版本的数据库。"
)
DATABASE_NOT_A_DATABASE = "DATABASE_URL 指向的文件 {url} 不是数据库（{detail}），请检查路径，或从备份恢复。"
CLI_INTERRUPTED = "已中断（Ctrl-C）：正在写的文件没有改动，数据库中未提交的部分已撤销。"
CLI_NOT_TEXT_FILE = "无法读取文件 {path}：第 {line} 行不是 UTF-8 文本（可能不是文本文件），请另存为 UTF-8 编码的文本"
CLI_DATABASE_BUSY = (
    "数据库 {url} 正被另一个程序写入（如另一个台账导入），等了几秒仍未结束（{reason}）。"
    "本次什么也没有写入，请稍后再试。"
)
CLI_BAD_JSONL = "文件 {path} 第 {line} 行不是有效的 JSON：{reason}"
CLI_BAD_LABELLED_FILE = "文件内容有误：{detail}"
CLI_DATABASE_FAILED = "数据库操作失败：{reason}"
LEDGER_ERRORS_IS_SOURCE = "--errors 的文件 {path} 就是要导入的台账，会被问题报告覆盖；请另取一个文件名，如 问题.xlsx"
LEDGER_IMPORT_DB_FAILED = (
    "台账未导入（一行也没有写入）：数据库出错（{reason}）。如果另一个导入正在进行，请等它完成后再导入一次。"
)
KB_PROBLEMS = "{path} 中共有 {count} 处问题。"
KB_VALID_REGIONAL = "其中地区差异（旗县区）设置 {count} 条。"
TRAIN_ALREADY_JOINED = "{path}：{source} 已经并入过训练文件（或在命令里给了两次），没有写入任何一行。"
TRAIN_JOINED = "{source}：并入 {rows} 条（{known} 条与训练文件或前面的文件中的问题相同，未重复并入）"
KB_EXPORTED = "已导出知识库到 {path}"
KB_IMPORTED = "已导入知识库：{items} 个事项，{departments} 个部门，写入 {folder}"
# `kb import`: problems of the workbook, each shown at its sheet, row and column.
KB_IMPORT_BAD_KEY = "键「{value}」只能由小写英文字母、数字和下划线组成，并以字母开头（如 eia、land_supply）"
KB_IMPORT_DUPLICATE_HEADER = "这一列出现了两次（第 {first} 列和第 {second} 列），请删去一列"
KB_IMPORT_UNCALCULATED = "单元格 {cell} 是公式，但没有计算结果（文件可能由程序生成），请用 Excel/WPS 打开保存后再导入"
KB_IMPORT_REGIONAL_KEPT = "工作簿没有「{sheet}」工作表：各事项原有的地区差异设置保持不变。"
REGION_NOTE = "📍 按{region}的办理规定答复（部门、窗口、电话、审批层级以本地区为准）"
