"""UI strings of the designer in zh-CN (default) and English.

The page embeds ``strings(lang)`` as JSON so the editors (plain JavaScript) print every
label through ``t(key)``; a test checks both languages are present for every key."""

from __future__ import annotations

__all__ = ["STRINGS", "strings", "t"]

# key -> (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "designer": ("设计器", "Designer"), "apps": ("应用", "Apps"), "create_app": ("创建应用", "Create app"),
    "app_label": ("应用名称", "App label"), "app_name": ("标识（英文）", "Identifier"),
    "open": ("打开", "Open"), "draft_rev": ("草稿修订", "Draft revision"), "published_v": ("已发布版本", "Published version"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "username": ("用户名", "Username"),
    "password": ("密码", "Password"), "login_failed": ("用户名或密码错误", "Wrong username or password"),
    "need_admin": ("设计器需要管理员角色", "The designer needs the admin role"),
    "language": ("语言", "Language"), "tab_entities": ("实体与字段", "Entities & fields"),
    "tab_form": ("表单布局", "Form layout"), "tab_workflow": ("工作流", "Workflow"),
    "tab_perms": ("权限", "Permissions"), "tab_formula": ("公式", "Formulas"),
    "tab_publish": ("发布与历史", "Publish & history"), "entities": ("实体", "Entities"),
    "new_entity": ("新建实体", "New entity"), "entity_label": ("实体名称", "Entity label"),
    "add": ("添加", "Add"), "save": ("保存", "Save"), "saved": ("已保存", "Saved"), "delete": ("删除", "Delete"),
    "archive": ("归档", "Archive"), "restore": ("恢复", "Restore"), "cancel": ("取消", "Cancel"),
    "close": ("关闭", "Close"), "palette": ("字段类型", "Field types"),
    "palette_hint": ("拖动字段类型到表单，或选中后按回车", "Drag a type onto the form, or focus it and press Enter"),
    "form_canvas": ("表单字段", "Form fields"), "drop_here": ("把字段类型拖到这里", "Drop field types here"),
    "properties": ("属性", "Properties"), "label_zh": ("中文标签", "Label (Chinese)"),
    "label_en": ("英文标签", "Label (English)"), "name": ("标识", "Name"), "type": ("类型", "Type"),
    "required": ("必填", "Required"), "unique": ("唯一", "Unique"), "indexed": ("索引", "Indexed"),
    "default": ("默认值（表达式）", "Default (expression)"), "choices": ("选项", "Choices"),
    "add_choice": ("添加选项", "Add choice"), "choice_value": ("值", "Value"), "choice_label": ("显示名", "Label"),
    "link_target": ("关联实体", "Linked entity"), "validation": ("校验规则（表达式）", "Validation (expression)"),
    "validation_msg": ("校验提示", "Validation message"), "help": ("帮助说明", "Help"),
    "suggested_type": ("建议类型", "Suggested type"), "apply": ("应用", "Apply"),
    "select_field": ("选择一个字段以编辑属性", "Select a field to edit its properties"),
    "select_entity": ("请选择或新建实体", "Select or create an entity"), "entity": ("实体", "Entity"),
    "sections": ("分区", "Sections"), "add_section": ("添加分区", "Add section"), "section_label": ("分区标题", "Section title"),
    "columns": ("列数", "Columns"), "tab": ("标签页", "Tab"), "visible_if": ("显示条件（表达式）", "Visible if (expression)"),
    "unplaced": ("未放置的字段", "Fields not placed"), "child_table": ("子表", "Child table"),
    "add_state": ("添加状态", "Add state"), "state_label": ("状态名称", "State label"), "initial": ("初始", "Initial"),
    "final": ("终态", "Final"), "transition": ("转换", "Transition"), "add_transition": ("添加转换", "Add transition"),
    "from": ("从", "From"), "to": ("到", "To"), "roles": ("角色", "Roles"), "guard": ("条件（表达式）", "Guard (expression)"),
    "approval": ("审批", "Approval"), "add_step": ("添加审批步骤", "Add approval step"),
    "approver_kind": ("审批人规则", "Approver rule"), "approver_value": ("审批人", "Approver"),
    "mode": ("会签方式", "Mode"), "mode_any": ("任一人", "Any one"), "mode_all": ("全部", "All"),
    "mode_n_of_m": ("N 人", "N of M"), "n": ("人数 N", "N"), "condition": ("分支条件（表达式）", "Branch condition"),
    "fallback_role": ("空缺时转交角色", "Fallback role"), "timers": ("超时", "Timers"),
    "timer_after": ("停留时长（ISO 8601，如 PT48H）", "After (ISO 8601, e.g. PT48H)"),
    "timer_action": ("超时动作", "Action"), "notify": ("通知", "Notify"), "escalate": ("升级给上级", "Escalate"),
    "timer_to": ("通知对象（approvers / submitter / creator / role:角色 / user:用户）",
                 "Notify whom (approvers / submitter / creator / role:NAME / user:NAME)"),
    "escalate_hint": ("升级给当前审批人（无审批时为创建人）的上级", "Escalates to the managers of the current approvers (or of the creator)"),
    "inputs": ("转换时填写", "Inputs when firing"), "add_input": ("添加填写项", "Add input"),
    "input_name": ("标识（英文）", "Name"), "input_type": ("类型", "Type"),
    "set_fields": ("转换时赋值", "Set on firing"), "add_set": ("添加赋值", "Add assignment"),
    "set_field": ("字段", "Field"), "set_expr": ("表达式", "Expression"),
    "check": ("校验", "Check"), "findings": ("问题", "Findings"), "no_findings": ("没有发现问题", "No findings"),
    "workflow_hint": ("拖动状态右侧圆点到另一状态左侧圆点以画出转换", "Drag from a state's right dot to another state's left dot to draw a transition"),
    "select_graph": ("选择一个状态或转换", "Select a state or a transition"),
    "role": ("角色", "Role"), "new_role": ("新建角色", "New role"), "role_label": ("角色名称", "Role label"),
    "right_create": ("新建", "Create"), "right_read": ("查看", "Read"), "right_update": ("修改", "Update"),
    "right_delete": ("删除", "Delete"), "right_export": ("导出", "Export"), "transitions": ("转换", "Transitions"),
    "row_filter": ("行过滤（表达式）", "Row filter (expression)"), "field_rights": ("字段权限", "Field rights"),
    "hidden": ("隐藏", "Hidden"), "read": ("只读", "Read"), "write": ("可写", "Write"), "mask": ("脱敏", "Mask"),
    "mask_expr": ("脱敏表达式", "Mask expression"), "view_as": ("以角色预览", "View as role"),
    "original": ("原始值", "Original"), "as_role": ("该角色看到", "As the role sees it"),
    "sample_note": ("暂无数据，使用示例记录", "No records yet; showing a sample record"),
    "formula_field": ("公式字段", "Formula field"), "new_formula": ("新建公式字段", "New formula field"),
    "expression": ("表达式", "Expression"), "result_type": ("结果类型", "Result type"),
    "preview": ("预览（前 5 条记录）", "Preview (first 5 records)"), "value": ("值", "Value"),
    "record": ("记录", "Record"), "ok": ("正确", "OK"), "error_at": ("第 {p} 个字符处", "at character {p}"),
    "no_rows": ("发布后可在真实数据上预览", "Publish to preview on real rows"),
    "functions": ("函数", "Functions"), "fields": ("字段", "Fields"),
    "publish": ("发布", "Publish"), "publish_title": ("发布新版本", "Publish a new version"),
    "changes_added": ("新增", "Added"), "changes_changed": ("修改", "Changed"), "changes_archived": ("归档", "Archived"),
    "columns_ops": ("数据库变更", "Schema changes"), "rows_affected": ("受影响的行", "Rows affected"),
    "health": ("健康检查", "Health"), "score": ("得分", "Score"), "blocked": ("存在严重问题，不能发布", "Critical findings block publishing"),
    "nothing": ("没有变更", "No changes"), "confirm_publish": ("确认发布", "Publish now"),
    "published_ok": ("已发布版本 {v}", "Published version {v}"), "history": ("历史版本", "History"),
    "rollback": ("回滚到此版本", "Roll back to this version"), "changelog": ("变更记录", "Change log"),
    "version": ("版本", "Version"), "at": ("时间", "At"), "by": ("操作人", "By"),
    "open_app": ("打开应用", "Open the app"), "error": ("出错了", "Error"),
    "confirm_rollback": ("确定回滚到版本 {v}？数据会保留。", "Roll back to version {v}? Data is kept."),
    "new_field": ("新字段", "New field"), "smart_field": ("智能字段", "Smart field"),
    "smart_hint": ("按名称自动识别类型", "Type inferred from the label"),
    "workflow_of": ("工作流", "Workflow"), "approval_on": ("需要审批", "Needs approval"),
}


def strings(lang: str) -> dict[str, str]:
    """Every designer string in ``lang`` (zh unless "en")."""
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in STRINGS.items()}


def t(key: str, lang: str = "zh") -> str:
    """One string (the key itself when unknown)."""
    pair = STRINGS.get(key)
    return key if pair is None else pair[1 if lang == "en" else 0]
