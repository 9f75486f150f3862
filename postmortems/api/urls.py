from django.urls import path

from postmortems.api import views

urlpatterns = [
    path("postmortems/", views.PostMortemListApi.as_view(), name="api-postmortem-list"),
    path("postmortems/<int:pk>/", views.PostMortemDetailApi.as_view(), name="api-postmortem-detail"),
    path("postmortems/<int:pk>/transition/", views.PostMortemTransitionApi.as_view(), name="api-postmortem-transition"),
    path("postmortems/<int:pk>/factors/", views.PostMortemFactorsApi.as_view(), name="api-postmortem-factors"),
    path("postmortems/<int:pk>/comments/", views.PostMortemCommentsApi.as_view(), name="api-postmortem-comments"),
    path("postmortems/<int:pk>/action-items/", views.ActionItemListApi.as_view(), name="api-postmortem-action-items"),
    path("postmortems/<int:pk>/action-items/<int:item_pk>/", views.ActionItemDetailApi.as_view(), name="api-postmortem-action-item"),
]
