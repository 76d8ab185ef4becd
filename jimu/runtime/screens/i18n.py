"""UI strings of the generated screens in zh-CN (default) and English.

Labels of entities, fields, states and transitions come from the specs
(``label.zh`` / ``label.en``); everything else a screen prints is here, so a
completeness test can check that every key has both languages."""

from __future__ import annotations

from typing import Any

__all__ = ["LANGS", "DEFAULT_LANG", "LANG_COOKIE", "STRINGS", "translate", "pick_lang", "label_text"]

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "jimu_lang"

# key -> (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "app_name": ("积木", "Jimu"),
    "login": ("登录", "Log in"),
    "logout": ("退出登录", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码错误", "Wrong username or password"),
    "login_locked": ("登录失败次数过多，请 {s} 秒后再试", "Too many failed logins; try again in {s} s"),
    "login_cross_site": ("登录请求不是从本页发出的，已拒绝；请在本页重新登录",
                         "This login was not sent from this page and was refused; log in again here"),
    "apps": ("应用", "Apps"),
    "import": ("导入表格", "Import a spreadsheet"),
    "import_help": ("上传 CSV 或 Excel（XLSX）文件：系统按表头和内容推断字段类型，把每列对应到字段后导入。任何一行有问题都不会导入，并列出每个有问题的行。",
                    "Upload a CSV or Excel (XLSX) file: field types are inferred from the headers and values; map each "
                    "column to a field and import. If any row has a problem nothing is imported and every bad row is listed."),
    "import_entity": ("导入到", "Import into"),
    "import_file": ("文件", "File"),
    "import_preview": ("预览", "Preview"),
    "import_no_file": ("请选择要导入的文件", "Choose a file to import"),
    "import_too_big": ("文件太大（最多 32 MB）", "The file is too large (32 MB at most)"),
    "import_mapping": ("列与字段（共 {n} 行）", "Columns and fields ({n} rows)"),
    "import_column": ("列", "Column"),
    "import_type": ("推断类型", "Inferred type"),
    "import_sample": ("示例", "Sample"),
    "import_target": ("对应字段", "Field"),
    "import_skip": ("— 不导入 —", "— skip —"),
    "import_rows": ("前几行", "First rows"),
    "import_run": ("导入", "Import"),
    "import_done": ("已导入：新建 {created} 条，更新 {updated} 条", "Imported: {created} created, {updated} updated"),
    "import_errors": ("有问题的单元格（{n}）", "Cells with problems ({n})"),
    "import_row": ("行", "Row"),
    "import_problem": ("问题", "Problem"),
    "chat_order": ("微信下单", "Chat order"),
    "chat_order_help": ("粘贴客户在微信群里发的订单消息，核对识别出的商品和数量，再生成草稿销售订单。置信度低于 80% 的行不会自动选商品。",
                        "Paste an order message from a WeChat group, check the items and quantities found, then "
                        "create the draft sales order. Lines below 80 % confidence never get an item picked for them."),
    "chat_message": ("消息", "Message"),
    "chat_customer": ("客户", "Customer"),
    "chat_customer_auto": ("从消息识别", "From the message"),
    "chat_warehouse": ("发货仓库", "Warehouse"),
    "chat_warehouse_auto": ("默认仓库", "Default warehouse"),
    "chat_parse": ("识别", "Parse"),
    "chat_lines": ("识别结果", "Parsed lines"),
    "chat_nothing": ("没有识别出商品", "No item found in the message"),
    "chat_said": ("原文", "Said"),
    "chat_item": ("商品", "Item"),
    "chat_qty": ("数量", "Quantity"),
    "chat_confidence": ("置信度", "Confidence"),
    "chat_flagged": ("请核对", "Check"),
    "chat_leave_out": ("— 不要此行 —", "— leave out —"),
    "chat_unparsed": ("未识别", "Not understood"),
    "chat_create": ("生成草稿订单", "Create draft order"),
    "chat_or_sku": ("或输入编码", "or SKU"),
    "chat_unknown_sku": ("没有编码为 {sku} 的商品", "No item with SKU {sku}"),
    "chat_no_lines": ("没有要下单的行：请为每行选择商品和数量", "No line to order: pick an item and a quantity"),
    "choose_app": ("选择应用", "Choose an app"),
    "no_apps": ("还没有已发布的应用", "No published apps yet"),
    "home": ("首页", "Home"),
    "menu": ("菜单", "Menu"),
    "inbox": ("待办", "Inbox"),
    "inbox_empty": ("没有待办事项", "Nothing waiting for you"),
    "dashboard": ("仪表盘", "Dashboard"),
    "language": ("语言", "Language"),
    "new": ("新建", "New"),
    "edit": ("编辑", "Edit"),
    "save": ("保存", "Save"),
    "cancel": ("取消", "Cancel"),
    "delete": ("删除", "Delete"),
    "delete_selected": ("删除所选", "Delete selected"),
    "confirm_delete": ("确定删除所选记录？", "Delete the selected records?"),
    "deleted_n": ("已删除 {n} 条", "Deleted {n}"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    "search": ("搜索", "Search"),
    "search_placeholder": ("输入关键字搜索", "Type to search"),
    "filter": ("筛选", "Filter"),
    "filters": ("筛选条件", "Filters"),
    "add_condition": ("添加条件", "Add condition"),
    "apply": ("应用", "Apply"),
    "clear": ("清除", "Clear"),
    "expression": ("表达式", "Expression"),
    "field": ("字段", "Field"),
    "operator": ("运算符", "Operator"),
    "value": ("值", "Value"),
    "saved_views": ("已保存视图", "Saved views"),
    "save_view": ("保存当前视图", "Save this view"),
    "view_name": ("视图名称", "View name"),
    "all_records": ("全部记录", "All records"),
    "next_page": ("下一页", "Next page"),
    "first_page": ("第一页", "First page"),
    "no_records": ("没有记录", "No records"),
    "select_all": ("全选", "Select all"),
    "select_row": ("选择此行", "Select this row"),
    "actions": ("操作", "Actions"),
    "details": ("详情", "Details"),
    "list": ("列表", "List"),
    "kanban": ("看板", "Board"),
    "session_expired": ("登录已过期，页面不再实时更新。请重新登录。", "Your session has expired: this page no longer updates live. Please log in again."),
    "login_again": ("重新登录", "Log in again"),
    "add_row": ("添加一行", "Add row"),
    "remove_row": ("删除此行", "Remove row"),
    "scan": ("扫码录入", "Scan"),
    "scan_placeholder": ("扫描或输入 SKU / 条码后回车", "Scan or type a SKU / barcode, then Enter"),
    "scan_unknown": ("未找到商品：{code}", "No item with code {code}"),
    "choose": ("请选择", "Choose"),
    "search_options": ("搜索选项", "Search options"),
    "masked": ("已脱敏", "masked"),
    "readonly": ("只读", "read-only"),
    "required": ("必填", "required"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "fix_errors": ("请修正标出的字段", "Please fix the marked fields"),
    "saved": ("已保存", "Saved"),
    "state": ("状态", "State"),
    "transitions": ("流程操作", "Workflow"),
    "confirm": ("确认", "Confirm"),
    "comment": ("备注", "Comment"),
    "approval": ("审批", "Approval"),
    "approval_waiting": ("等待审批：{step}", "Waiting for approval: {step}"),
    "approve": ("通过", "Approve"),
    "reject": ("驳回", "Reject"),
    "open": ("打开", "Open"),
    "audit_trail": ("操作记录", "Audit trail"),
    "no_audit": ("暂无操作记录", "No history yet"),
    "move_refused": ("无法移动：{reason}", "Move refused: {reason}"),
    "line_item": ("商品", "Item"),
    "line_ordered": ("订单数量", "Ordered"),
    "line_done": ("已完成", "Done"),
    "line_rest": ("未完成", "Left"),
    "line_now": ("本次数量", "This time"),
    "line_qty_invalid": ("数量 {value} 不是数字", "Quantity {value} is not a number"),
    "line_qty_none": ("请至少填写一行的本次数量", "Enter a quantity on at least one line"),
    "move_needs_inputs": ("此操作需要填写信息，请在详情页完成", "This step needs inputs; open the record"),
    "no_transition": ("没有从此状态到目标状态的操作", "No transition leads there"),
    "stock_by_warehouse": ("各仓库存", "Stock by warehouse"),
    "orders_by_state": ("订单状态分布", "Orders by state"),
    "near_expiry": ("临期批次", "Batches near expiry"),
    "turnover_days": ("库存周转天数", "Turnover days"),
    "turnover_note": ("按最近 {n} 天的日均出库计算", "From the average daily shipments of the last {n} days"),
    "shipped": ("出库", "Shipped"),
    "days": ("天数", "Days"),
    "warehouse": ("仓库", "Warehouse"),
    "item": ("商品", "Item"),
    "rows_shown": ("显示 {n} / {total} 行", "{n} of {total} rows"),
    "dashboards": ("仪表盘", "Dashboards"),
    "on_hand": ("在库", "On hand"),
    "reserved": ("预留", "Reserved"),
    "available": ("可用", "Available"),
    "count": ("数量", "Count"),
    "not_found": ("找不到页面或记录", "Page or record not found"),
    "forbidden": ("你没有权限执行此操作", "You may not do this"),
    "error": ("出错了", "Something went wrong"),
    "back": ("返回", "Back"),
    "live_update": ("数据已更新", "Updated"),
    "records": ("条记录", "records"),
    "created_at": ("创建时间", "Created"),
    "updated_at": ("更新时间", "Updated"),
    "created_by": ("创建人", "Created by"),
    "id": ("编号", "ID"),
    "user_menu": ("用户菜单", "User menu"),
    "skip_to_content": ("跳到正文", "Skip to content"),
    "sort_by": ("按此列排序", "Sort by this column"),
    "op_eq": ("等于", "equals"),
    "op_ne": ("不等于", "not equal"),
    "op_gt": ("大于", "greater than"),
    "op_ge": ("大于等于", "at least"),
    "op_lt": ("小于", "less than"),
    "op_le": ("小于等于", "at most"),
    "op_contains": ("包含", "contains"),
    "op_blank": ("为空", "is blank"),
    # The batch trace screen (views_trace.py).
    "trace_title": ("批次追溯", "Batch trace"),
    "trace_direction": ("追溯方向", "Direction"),
    "trace_down": ("向下:去向(消耗、产出、客户)", "Down: where it went (consumption, products, customers)"),
    "trace_up": ("向上:来源(原料批次)", "Up: where it came from (component batches)"),
    "trace_batches": ("共 {n} 个批次", "{n} batches"),
    "trace_truncated": ("谱系过大,只显示了一部分", "The genealogy is large; only part of it is shown"),
    "trace_genealogy": ("批次谱系", "Batch genealogy"),
    "trace_customers": ("受影响客户与数量", "Affected customers and quantities"),
    "trace_total_for": ("{name} 合计", "Total for {name}"),
    "trace_stock": ("剩余库存", "Stock left"),
    "trace_bucket": ("库存状态", "Bucket"),
    "bucket_on_hand": ("在库", "On hand"),
    "bucket_in_transit": ("在途", "In transit"),
    "bucket_quarantine": ("隔离", "Quarantine"),
    "customer": ("客户", "Customer"),
    "batch": ("批次", "Batch"),
    "document": ("单据", "Document"),
    "date": ("日期", "Date"),
    "quantity": ("数量", "Quantity"),
    "print": ("打印", "Print"),
}


def translate(key: str, lang: str = DEFAULT_LANG, **kw: Any) -> str:
    """The UI string ``key`` in ``lang`` (the key itself when unknown), formatted with ``kw``."""
    pair = STRINGS.get(key)
    text = key if pair is None else pair[1 if lang == "en" else 0]
    return text.format(**kw) if kw else text


def pick_lang(cookie: str | None, accept: str | None = None) -> str:
    """The screen language: the ``jimu_lang`` cookie, else zh-CN (the product default)."""
    if cookie in LANGS:
        return str(cookie)
    return DEFAULT_LANG


def label_text(label: Any, lang: str, fallback: str = "") -> str:
    """A spec label (Label model, dict or str) in ``lang``."""
    if label is None:
        return fallback
    if hasattr(label, "text"):
        return str(label.text(lang)) or fallback
    if isinstance(label, dict):
        zh, en = str(label.get("zh") or ""), str(label.get("en") or "")
        return (en or zh if lang == "en" else zh or en) or fallback
    return str(label) or fallback
